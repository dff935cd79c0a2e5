"""A tiny real OpenAI-compatible chat completions server for the brain tests (uvicorn in a thread).

It streams (server-sent events) when asked to, as real endpoints do, and decides like a tool-using model:
offered tools and a user turn → it calls the first tool, its arguments streamed in pieces; a tool's output
as the latest turn → it answers with that output.
"""
from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tests.support import http_peer

ANSWER = 'The kitchen lights are on now.'
CALL_ARGUMENTS = '{"room": "kitchen", "on": true}'


@dataclass
class ChatPeer:
    behaviour: str = 'ok'  # 'ok', 'json', 'error', 'garbage', 'endless', 'slow'
    requests: list[dict] = field(default_factory=list)
    url: str = ''
    go_on: threading.Event = field(default_factory=threading.Event)  # 'slow': releases the second sentence

    async def chat_completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({'authorization': request.headers.get('authorization'), 'body': body})
        if self.behaviour == 'error':
            return JSONResponse({'error': {'message': 'model overloaded', 'type': 'server_error'}}, status_code=500)
        if self.behaviour == 'garbage':
            return JSONResponse({'object': 'chat.completion'})
        if self.behaviour == 'endless':  # a stream that never ends: the brain must stop reading
            chunk = 'data: ' + json.dumps({'choices': [{'index': 0, 'delta': {'content': 'la '}}]}) + '\n\n'
            return StreamingResponse(iter(lambda: chunk, None), media_type='text/event-stream')
        if self.behaviour == 'slow':  # the first sentence, then nothing until the test says so
            return StreamingResponse(self.slow_chunks(), media_type='text/event-stream')
        message = decide(body)
        if body.get('stream') and self.behaviour != 'json':
            return Response(''.join(f'data: {json.dumps(chunk)}\n\n' for chunk in stream_chunks(body, message))
                            + 'data: [DONE]\n\n', media_type='text/event-stream')
        return JSONResponse({
            'id': 'chatcmpl-test', 'object': 'chat.completion', 'model': body['model'],
            'choices': [{'index': 0, 'finish_reason': 'tool_calls' if message.get('tool_calls') else 'stop',
                         'message': {'role': 'assistant', **message}}],
            'usage': {'prompt_tokens': 10, 'completion_tokens': 12, 'total_tokens': 22}})

    async def slow_chunks(self):
        def data(content: str) -> str:
            return 'data: ' + json.dumps({'choices': [{'index': 0, 'delta': {'content': content}}]}) + '\n\n'
        yield data('Hello there. ')
        while not self.go_on.is_set():
            await asyncio.sleep(0.01)
        yield data('How are')
        yield data(' you?')
        yield 'data: [DONE]\n\n'


def decide(body: dict) -> dict:
    latest = body['messages'][-1]
    if latest['role'] == 'tool':
        return {'content': f'Done: {latest["content"]}'}
    tools = body.get('tools') or []
    if tools and body.get('tool_choice') != 'none':
        choice = body.get('tool_choice')
        name = choice['function']['name'] if isinstance(choice, dict) else tools[0]['function']['name']
        return {'content': None, 'tool_calls': [{'id': 'call_peer1', 'type': 'function',
                                                 'function': {'name': name, 'arguments': CALL_ARGUMENTS}}]}
    return {'content': ANSWER}


def stream_chunks(body: dict, message: dict) -> list[dict]:
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {'id': 'chatcmpl-test', 'object': 'chat.completion.chunk', 'model': body['model'],
                'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish}]}
    chunks = [chunk({'role': 'assistant', 'content': ''})]
    content = message.get('content') or ''
    chunks += [chunk({'content': content[i:i + 7]}) for i in range(0, len(content), 7)]
    for index, call in enumerate(message.get('tool_calls') or []):
        arguments = call['function']['arguments']
        chunks.append(chunk({'tool_calls': [{'index': index, 'id': call['id'], 'type': 'function',
                                             'function': {'name': call['function']['name'], 'arguments': ''}}]}))
        chunks += [chunk({'tool_calls': [{'index': index, 'function': {'arguments': arguments[i:i + 5]}}]})
                   for i in range(0, len(arguments), 5)]
    chunks.append(chunk({}, 'tool_calls' if message.get('tool_calls') else 'stop'))
    return chunks


def running_chat_peer():
    peer = ChatPeer()
    return http_peer(peer, '/v1/chat/completions', peer.chat_completions)
