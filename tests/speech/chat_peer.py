"""A tiny real OpenAI-compatible chat completions server for the brain tests (uvicorn in a thread)."""
from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.support import http_peer

ANSWER = 'The kitchen lights are on now.'


@dataclass
class ChatPeer:
    behaviour: str = 'ok'  # 'ok', 'error' (HTTP 500) or 'garbage' (200 without choices)
    requests: list[dict] = field(default_factory=list)
    url: str = ''

    async def chat_completions(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({'authorization': request.headers.get('authorization'), 'body': body})
        if self.behaviour == 'error':
            return JSONResponse({'error': {'message': 'model overloaded', 'type': 'server_error'}}, status_code=500)
        if self.behaviour == 'garbage':
            return JSONResponse({'object': 'chat.completion'})
        answer = ANSWER
        return JSONResponse({
            'id': 'chatcmpl-test', 'object': 'chat.completion', 'model': body['model'],
            'choices': [{'index': 0, 'finish_reason': 'stop',
                         'message': {'role': 'assistant', 'content': answer}}],
            'usage': {'prompt_tokens': 10, 'completion_tokens': 12, 'total_tokens': 22}})


def running_chat_peer():
    peer = ChatPeer()
    return http_peer(peer, '/v1/chat/completions', peer.chat_completions)
