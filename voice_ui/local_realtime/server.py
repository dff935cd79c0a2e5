"""Routes of the embedded server, mountable into any Starlette/FastAPI app (NiceGUI's `app` included).

    server = mount_local_realtime(app, LocalRealtimeConfig(api_keys={key}))

adds `POST {prefix}/realtime/client_secrets` and `WS {prefix}/realtime`, plus the `{prefix}/_local/*` fault and
introspection endpoints when allowed. Routes go first in the router so no catch-all registered earlier hides them.
"""
from __future__ import annotations

import json
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
from .tokens import TokenStore, bearer
from .transport import realtime_websocket


class LocalRealtimeServer:
    def __init__(self, config: LocalRealtimeConfig) -> None:
        self.config = config
        self.tokens = TokenStore(frozenset(config.api_keys), clock=time.time, faults=config.faults)
        self.logs = SessionLogs()

    def routes(self) -> list:
        prefix = self.config.prefix.rstrip('/')
        routes: list = [Route(f'{prefix}/realtime/client_secrets', self.client_secrets, methods=['POST']),
                        WebSocketRoute(f'{prefix}/realtime', self.realtime)]
        if self.config.fault_endpoints_enabled:
            routes += [Route(f'{prefix}/_local/faults', self.faults, methods=['GET', 'POST']),
                       Route(f'{prefix}/_local/sessions', self.sessions, methods=['GET', 'DELETE'])]
        return routes

    async def client_secrets(self, request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            if self.tokens.is_api_key(bearer(request.headers.get('authorization'))):
                return JSONResponse(error_body('We could not parse the JSON body of your request.',
                                               code=ErrorCode.INVALID_JSON), 400)
            body = None
        status, payload = self.tokens.mint(request.headers.get('authorization'), body)
        return JSONResponse(payload, status)

    async def realtime(self, websocket: WebSocket) -> None:
        await realtime_websocket(websocket, self.config, self.tokens, self.logs)

    async def faults(self, request: Request) -> JSONResponse:
        """GET: the current faults. POST: replace them all (fields left out take their defaults)."""
        if request.method == 'POST':
            try:
                values = await request.json()
                if not isinstance(values, dict):
                    raise ValueError('a JSON object of Faults fields is expected')
                self.config.faults.replace_with(Faults.from_dict(values))
            except (ValueError, TypeError) as exc:
                return JSONResponse(error_body(str(exc), code=ErrorCode.INVALID_VALUE), 400)
        return JSONResponse(self.config.faults.to_dict())

    async def sessions(self, request: Request) -> JSONResponse:
        if request.method == 'DELETE':
            self.logs.clear()
        return JSONResponse(self.logs.to_list())


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
