"""Routes of the embedded server, mountable into any Starlette/FastAPI app (NiceGUI's `app` included).

    server = mount_local_realtime(app, LocalRealtimeConfig(api_keys={key}))

adds `POST {prefix}/realtime/client_secrets` and `WS {prefix}/realtime`, plus the `{prefix}/_local/*` fault and
introspection endpoints when allowed. Routes go first in the router so no catch-all registered earlier hides them.
"""
from __future__ import annotations

import asyncio
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from ..protocol import ErrorCode, error_body
from .server_config import LocalRealtimeConfig
from .faults import Faults
from .introspection import SessionLogs
from .limits import ServerLimits
from .safe_json import loads
from .session_schema import RequestError
from .tokens import TokenStore, bearer, token_secret
from .transport import OpenSessions, realtime_websocket


class LocalRealtimeServer:
    def __init__(self, config: LocalRealtimeConfig) -> None:
        self.config = config
        self.tokens = TokenStore(frozenset(config.api_keys), clock=time.time, faults=config.faults,
                                 secret=token_secret())
        self.logs = SessionLogs(config.limits, enabled=config.fault_endpoints_enabled)
        self.sessions = OpenSessions(config.limits)

    def routes(self) -> list:
        prefix = self.config.prefix.rstrip('/')
        # Every method reaches the handler, so a wrong one gets OpenAI's JSON error shape, not Starlette's text.
        routes: list = [Route(f'{prefix}/realtime/client_secrets', self.client_secrets, methods=ANY_METHOD),
                        WebSocketRoute(f'{prefix}/realtime', self.realtime)]
        if self.config.fault_endpoints_enabled:
            routes += [Route(f'{prefix}/_local/faults', self.faults, methods=['GET', 'POST']),
                       Route(f'{prefix}/_local/sessions', self.session_logs, methods=['GET', 'DELETE'])]
        return routes

    async def client_secrets(self, request: Request) -> JSONResponse:
        """Authenticated before the body is read; the body is bounded in size and time and parsed strictly."""
        if request.method != 'POST':
            return JSONResponse(error_body(f'Invalid method for URL ({request.method} {request.url.path}): use POST.',
                                           code=ErrorCode.METHOD_NOT_ALLOWED), 405, headers={'allow': 'POST'})
        authorization = request.headers.get('authorization')
        body = None  # an unauthenticated request is refused by `mint` without a byte of its body read
        if self.tokens.is_api_key(bearer(authorization)):
            try:
                body = await read_json(request, self.config.limits)
            except BodyTooLarge as error:
                return JSONResponse(error_body(str(error), code=ErrorCode.INVALID_VALUE), 413)
            except TimeoutError:
                return JSONResponse(error_body(f'The request body did not arrive within '
                                               f'{self.config.limits.request_body_timeout_s:g} s.',
                                               code=ErrorCode.REQUEST_TIMEOUT), 408)
            except RequestError as error:
                return JSONResponse(error_body(error.message, code=error.code, param=error.param), 400)
        status, payload = self.tokens.mint(authorization, body)
        return JSONResponse(payload, status)

    async def realtime(self, websocket: WebSocket) -> None:
        await realtime_websocket(websocket, self.config, self.tokens, self.logs, self.sessions)

    async def faults(self, request: Request) -> JSONResponse:
        """GET: the current faults. POST: replace them all (fields left out take their defaults)."""
        if request.method == 'POST':
            try:
                values = await read_json(request, self.config.limits)
                if not isinstance(values, dict):
                    raise ValueError('a JSON object of Faults fields is expected')
                self.config.faults.replace_with(Faults.from_dict(values))
            except (ValueError, TypeError, RequestError) as exc:
                return JSONResponse(error_body(str(exc), code=ErrorCode.INVALID_VALUE), 400)
        return JSONResponse(self.config.faults.to_dict())

    async def session_logs(self, request: Request) -> JSONResponse:
        if request.method == 'DELETE':
            self.logs.clear()
        return JSONResponse(self.logs.to_list())


ANY_METHOD = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']


class BodyTooLarge(Exception):
    pass


async def read_json(request: Request, limits: ServerLimits) -> object:
    """The request's JSON body, read no further than `max_mint_body_bytes`; None when empty."""
    most = limits.max_mint_body_bytes
    declared = request.headers.get('content-length', '')
    if declared.isdigit() and int(declared) > most:
        raise BodyTooLarge(f'The request body is larger than {most} bytes.')
    raw = bytearray()
    async with asyncio.timeout(limits.request_body_timeout_s):  # TimeoutError: a body that stalls
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > most:
                raise BodyTooLarge(f'The request body is larger than {most} bytes.')
    return loads(bytes(raw), limits.max_json_depth) if raw else None


def mount_local_realtime(app: Starlette, config: LocalRealtimeConfig) -> LocalRealtimeServer:
    """Serve the embedded Realtime API from `app` on its own port; returns the server (tokens, logs, faults)."""
    server = LocalRealtimeServer(config)
    app.router.routes[0:0] = server.routes()
    return server


def create_app(config: LocalRealtimeConfig) -> Starlette:
    """A standalone app serving only the embedded server."""
    app = Starlette()
    app.state.local_realtime = mount_local_realtime(app, config)
    return app
