"""A chat endpoint's reply as it is written: content deltas as they arrive, the tool calls at the end.

The SpeechAgent cuts the deltas into sentences and speaks the first while the model is still writing. Endpoints
that ignore `stream` and answer one JSON body still work (one delta). Bounded like `ChatCompletionsBrain.reply`.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

from ..local_realtime.server_agent import NO_TOOLS, Message, Reply, ToolOffer
from .brains import MAX_ANSWER_BYTES, NOTHING_HEARD, ChatCompletionsBrain, ChatError, calls_of, chat_tools, \
    latest_user_text


async def chat_deltas(brain: ChatCompletionsBrain, history: list[Message], instructions: str | None = None,
                      tools: ToolOffer = NO_TOOLS) -> AsyncIterator[str | Reply]:
    """Text deltas (str); then, if the model called functions, one `Reply` carrying only the calls."""
    if not latest_user_text(history) and not (history and history[-1].role == 'tool'):
        yield NOTHING_HEARD
        return
    headers = {'Authorization': f'Bearer {brain._api_key}'} if brain._api_key else {}
    body = {'model': brain.model, 'messages': brain.messages(history, instructions), 'stream': True,
            **chat_tools(tools)}
    calls: dict[int, dict] = {}
    read = 0
    async with httpx.AsyncClient(timeout=brain._timeout_s) as client:
        async with client.stream('POST', f'{brain.base_url}/chat/completions', json=body,
                                 headers=headers) as response:
            if response.status_code != 200 or not response.headers.get('content-type', '').startswith(
                    'text/event-stream'):
                whole = await brain_reply_from(response, brain)
                if whole.text:
                    yield whole.text
                if whole.tool_calls:
                    yield Reply('', b'', whole.tool_calls)
                return
            async for line in response.aiter_lines():
                read += len(line) + 1
                if read > MAX_ANSWER_BYTES:
                    raise ChatError(f'the chat endpoint sent more than {MAX_ANSWER_BYTES} bytes')
                if not line.startswith('data:') or line[5:].strip() == '[DONE]':
                    continue
                try:
                    choices = json.loads(line[5:])['choices'][:1]
                    for choice in choices:
                        delta = choice.get('delta') or {}
                        merge_calls(calls, delta.get('tool_calls') or [])
                        if delta.get('content'):
                            yield str(delta['content'])
                except (ValueError, LookupError, TypeError, AttributeError) as exc:
                    raise ChatError(f'{brain.description} sent an unexpected chunk: {line[:200]!r}') from exc
    if calls:
        try:
            yield Reply('', b'', calls_of([calls[index] for index in sorted(calls)]))
        except (LookupError, TypeError) as exc:
            raise ChatError(f'{brain.description} sent unusable tool calls') from exc


def merge_calls(calls: dict[int, dict], pieces: list) -> None:
    for piece in pieces:
        call = calls.setdefault(int(piece.get('index', 0)), {'id': '', 'function': {'name': '', 'arguments': ''}})
        call['id'] = piece.get('id') or call['id']
        function = piece.get('function') or {}
        call['function']['name'] += function.get('name') or ''
        call['function']['arguments'] += function.get('arguments') or ''


async def brain_reply_from(response: httpx.Response, brain: ChatCompletionsBrain) -> Reply:
    """A non-streamed answer (or an HTTP error), read and judged exactly as `ChatCompletionsBrain.reply` does."""
    from .brains import read_bounded
    raw = await read_bounded(response)
    if response.status_code != 200:
        raise ChatError(f'{brain.description} answered HTTP {response.status_code}: {raw[:200]!r}')
    try:
        message = json.loads(raw)['choices'][0]['message']
        return Reply((message.get('content') or '').strip(), b'', calls_of(message.get('tool_calls') or []))
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        raise ChatError(f'{brain.description} sent an unexpected body: {raw[:200]!r}') from exc
