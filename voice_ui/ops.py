"""Operator endpoints: `/healthz` (the process answers), `/readyz` (it can serve: started, shared state
reachable) and `/metrics` (Prometheus text format).

Health and readiness say nothing secret and are open to the balancer and orchestrator. `/metrics` tells how busy
the service is and who is refused, so it answers only a direct loopback peer (no proxy in between: a
request through the balancer carries X-Forwarded-For) or a request with `Authorization: Bearer
$VOICE_UI_METRICS_TOKEN`; everyone else gets 404, as if it were not there.
"""
from __future__ import annotations

import hmac
import socket

from nicegui import Client, app
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .access import Access
from .access.core import header_map
from .access.hosts import is_loopback
from .config import Settings
from .metrics import METRICS

HEALTH_PATH, READY_PATH, METRICS_PATH = '/healthz', '/readyz', '/metrics'
PATHS = (HEALTH_PATH, READY_PATH, METRICS_PATH)
NO_STORE = {'Cache-Control': 'no-store'}


def install(settings: Settings, access: Access) -> None:
    replica = settings.replica or socket.gethostname()
    state = {'started': False}
    app.on_startup(lambda: state.update(started=True))
    app.on_shutdown(lambda: state.update(started=False))

    @app.get(HEALTH_PATH, include_in_schema=False)
    def healthz() -> Response:
        return JSONResponse({'status': 'ok', 'replica': replica}, headers=NO_STORE)

    @app.get(READY_PATH, include_in_schema=False)
    def readyz() -> Response:
        problem = None if state['started'] else 'starting'
        problem = problem or access.shared_state.ready()
        body = {'status': 'not ready' if problem else 'ready', 'replica': replica, 'state': access.shared_state.kind}
        if problem:
            body['problem'] = problem
        return JSONResponse(body, status_code=503 if problem else 200, headers=NO_STORE)

    @app.get(METRICS_PATH, include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not may_read_metrics(request.scope, settings.metrics_token):
            return PlainTextResponse('Not Found', 404, headers=NO_STORE)
        gauges = {'voice_ui_pages': len(Client.instances), 'voice_ui_voice_sessions': len(METRICS.open_sessions)}
        body = METRICS.render(gauges, {'replica': replica, 'state': access.shared_state.kind})
        return PlainTextResponse(body, headers={**NO_STORE, 'Content-Type': 'text/plain; version=0.0.4'})


def may_read_metrics(scope: dict, token: str) -> bool:
    headers = header_map(scope)
    if token:
        given = headers.get('authorization', '')
        if given.startswith('Bearer ') and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
            return True
    peer = (scope.get('client') or ('', 0))[0]
    return is_loopback(peer) and 'x-forwarded-for' not in headers and 'forwarded' not in headers
