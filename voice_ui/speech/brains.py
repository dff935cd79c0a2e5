"""What the speech agent says back: the echo by default, or any OpenAI-compatible chat completions endpoint.

- VOICE_UI_AGENT_CHAT_URL: base URL of the endpoint, e.g. http://localhost:11434/v1 (Ollama) — unset: echo.
- VOICE_UI_AGENT_CHAT_MODEL: the model to ask (required with the URL).
- VOICE_UI_AGENT_CHAT_KEY: optional bearer token.
The session's instructions (VOICE_UI_INSTRUCTIONS, else the app default) become the system message; the
session's function tools are offered to the model and its `tool_calls` come back as the reply's calls.
For rules instead of a model (tests, demos), see `scripted_brain.ScriptedBrain`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

import httpx

from ..config import DEFAULT_INSTRUCTIONS, environment
from ..local_realtime.server_agent import NO_TOOLS, Message, Reply, ToolCall, ToolOffer

CHAT_URL_ENV = 'VOICE_UI_AGENT_CHAT_URL'
CHAT_MODEL_ENV = 'VOICE_UI_AGENT_CHAT_MODEL'
CHAT_KEY_ENV = 'VOICE_UI_AGENT_CHAT_KEY'
INSTRUCTIONS_ENV = 'VOICE_UI_INSTRUCTIONS'
NOTHING_HEARD = 'Sorry, I did not catch that.'
MAX_ANSWER_BYTES = 1 << 20  # an endpoint that streams without end must not fill memory


class Brain(Protocol):
    description: str

    async def reply(self, history: list[Message], instructions: str | None = None,
                    tools: ToolOffer = NO_TOOLS) -> Reply | str:
        """What to say (and which tools to call) in answer to `history`, which ends with the latest turn."""


class EchoBrain:
    description = 'echo'

    async def reply(self, history: list[Message], instructions: str | None = None,
                    tools: ToolOffer = NO_TOOLS) -> Reply:
        if history and history[-1].role == 'tool':
            return Reply(f'The tool answered: {history[-1].text}')
        heard = latest_user_text(history)
        return Reply(f'You said: {heard}' if heard else NOTHING_HEARD)


class ChatCompletionsBrain:
    """POST {base_url}/chat/completions (streamed) with the conversation and the tools; the first choice is the
    reply. Endpoints that ignore `stream` and answer with one JSON body work too."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 instructions: str = DEFAULT_INSTRUCTIONS, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip('/')
        self.model = model
        self.instructions = instructions
        self._api_key = api_key
        self._timeout_s = timeout_s
        self.description = f'chat model {model} at {self.base_url}'

    async def reply(self, history: list[Message], instructions: str | None = None,
                    tools: ToolOffer = NO_TOOLS) -> Reply:
        if not latest_user_text(history) and not (history and history[-1].role == 'tool'):
            return Reply(NOTHING_HEARD)
        headers = {'Authorization': f'Bearer {self._api_key}'} if self._api_key else {}
        body = {'model': self.model, 'messages': self.messages(history, instructions), 'stream': True,
                **chat_tools(tools)}
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            async with client.stream('POST', f'{self.base_url}/chat/completions', json=body,
                                     headers=headers) as response:
                raw = await read_bounded(response)
                if response.status_code != 200:
                    raise ChatError(f'{self.description} answered HTTP {response.status_code}: {raw[:200]!r}')
                streamed = response.headers.get('content-type', '').startswith('text/event-stream')
        try:
            message = merge_stream(raw) if streamed else json.loads(raw)['choices'][0]['message']
            return Reply((message.get('content') or '').strip(), b'', calls_of(message.get('tool_calls') or []))
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            raise ChatError(f'{self.description} sent an unexpected body: {raw[:200]!r}') from exc

    def messages(self, history: list[Message], instructions: str | None = None) -> list[dict]:
        system = instructions or self.instructions
        turns = [chat_message(message) for message in history if message.text or message.tool_calls]
        return ([{'role': 'system', 'content': system}] if system else []) + turns


class ChatError(RuntimeError):
    pass


def chat_message(message: Message) -> dict:
    if message.role == 'tool':
        return {'role': 'tool', 'tool_call_id': message.call_id, 'content': message.text}
    if message.tool_calls:
        return {'role': 'assistant', 'content': message.text or None, 'tool_calls': [
            {'id': call.call_id, 'type': 'function', 'function': {'name': call.name, 'arguments': call.arguments}}
            for call in message.tool_calls]}
    return {'role': message.role, 'content': message.text}


def chat_tools(tools: ToolOffer) -> dict:
    """The Realtime function tools and tool_choice in chat completions' shape (nothing when none are offered)."""
    if not tools.tools:
        return {}
    functions = [{'type': 'function', 'function': {key: tool[key] for key in ('name', 'description', 'parameters')
                                                   if tool.get(key) is not None}} for tool in tools.tools]
    choice = {'type': 'function', 'function': {'name': tools.name}} if tools.choice == 'function' else tools.choice
    return {'tools': functions, 'tool_choice': choice}


async def read_bounded(response: httpx.Response) -> bytes:
    raw = bytearray()
    async for chunk in response.aiter_bytes():
        raw += chunk
        if len(raw) > MAX_ANSWER_BYTES:
            raise ChatError(f'the chat endpoint sent more than {MAX_ANSWER_BYTES} bytes')
    return bytes(raw)


def merge_stream(raw: bytes) -> dict:
    """Server-sent chunks (`data: {...}` lines, then `data: [DONE]`) merged into one assistant message:
    content concatenated, tool calls assembled by their `index` (name and arguments arrive in pieces)."""
    content: list[str] = []
    calls: dict[int, dict] = {}
    for line in raw.decode('utf-8').splitlines():
        if not line.startswith('data:') or line[5:].strip() == '[DONE]':
            continue
        chunk = json.loads(line[5:])
        if 'choices' not in chunk:
            raise ValueError('a chunk without choices')
        for choice in chunk['choices'][:1]:
            delta = choice.get('delta') or {}
            content.append(delta.get('content') or '')
            for piece in delta.get('tool_calls') or []:
                call = calls.setdefault(int(piece.get('index', 0)), {'id': '', 'function': {'name': '',
                                                                                          'arguments': ''}})
                call['id'] = piece.get('id') or call['id']
                function = piece.get('function') or {}
                call['function']['name'] += function.get('name') or ''
                call['function']['arguments'] += function.get('arguments') or ''
    return {'content': ''.join(content), 'tool_calls': [calls[index] for index in sorted(calls)]}


def calls_of(tool_calls: list) -> tuple[ToolCall, ...]:
    calls = []
    for call in tool_calls:
        function = call['function']
        arguments = function.get('arguments')
        if not isinstance(arguments, str):  # some servers send an object rather than JSON text
            arguments = json.dumps(arguments if arguments is not None else {})
        calls.append(ToolCall(str(function['name']), arguments, str(call.get('id') or '')))
    return tuple(calls)


def brain_from_env(environ: Mapping[str, str] | None = None) -> Brain:
    env = environment() if environ is None else environ
    url = env.get(CHAT_URL_ENV, '').strip()
    if not url:
        return EchoBrain()
    model = env.get(CHAT_MODEL_ENV, '').strip()
    if not model:
        raise ValueError(f'{CHAT_MODEL_ENV} must name the model when {CHAT_URL_ENV} is set')
    return ChatCompletionsBrain(url, model, env.get(CHAT_KEY_ENV, '').strip() or None,
                                env.get(INSTRUCTIONS_ENV, '').strip() or DEFAULT_INSTRUCTIONS)


def latest_user_text(history: list[Message]) -> str:
    return next((message.text.strip() for message in reversed(history) if message.role == 'user'), '')
