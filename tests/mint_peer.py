"""A small real HTTP peer for the token service: answers `POST /v1/realtime/client_secrets` as told.

It runs uvicorn in a thread on a free port, so the token service's real httpx client talks real HTTP to it.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.support import http_peer
from voice_ui.protocol import error_body

FAILURES = {
    401: (401, error_body('Incorrect API key provided.', code='invalid_api_key')),
    429: (429, error_body('Rate limit reached for requests.', type='requests', code='rate_limit_exceeded')),
    'quota': (429, error_body('You exceeded your current quota.', type='insufficient_quota',
                              code='insufficient_quota')),
    400: (400, error_body("Unknown parameter: 'session.foo'.", code='unknown_parameter', param='session.foo')),
    500: (500, error_body('The server had an error while processing your request.', type='server_error')),
}


@dataclass
class MintPeer:
    behaviour: object = 'ok'   # 'ok', 'slow', or a FAILURES key
    ttl_s: int | None = None   # force a token lifetime, else the requested one
    requests: list[dict] = field(default_factory=list)
    url: str = ''
    minted: int = 0

    async def client_secrets(self, request: Request) -> JSONResponse:
        self.requests.append({'authorization': request.headers.get('authorization'), 'body': await request.json()})
        if self.behaviour == 'slow':
            await asyncio.sleep(5)
        if self.behaviour in FAILURES:
            status, body = FAILURES[self.behaviour]
            return JSONResponse(body, status_code=status)
        self.minted += 1
        body = self.requests[-1]['body']
        ttl = self.ttl_s or body['expires_after']['seconds']
        return JSONResponse({'value': f'ek_test_{self.minted}', 'expires_at': int(time.time() + ttl),
                             'session': {**body['session'], 'id': 'sess_test', 'object': 'realtime.session'}})


def running_mint_peer():
    peer = MintPeer()
    return http_peer(peer, '/v1/realtime/client_secrets', peer.client_secrets)
