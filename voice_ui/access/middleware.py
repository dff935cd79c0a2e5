"""The gate every HTTP request and WebSocket passes first: Host allow-list, Origin check, then sign-in.

A pure ASGI middleware (not BaseHTTPMiddleware) so WebSockets — NiceGUI's socket.io and the embedded
Realtime server — go through the same gate as pages.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

from nicegui import __version__ as NICEGUI_VERSION
from starlette.responses import PlainTextResponse, RedirectResponse

from ..metrics import METRICS
from .core import SCOPE_KEY, Access, header_map
from .login_binding import ensure_binding

log = logging.getLogger('voice_ui.access')
LOGIN_PATH = '/login'
SIGNIN_PATH = '/_voice_ui/signin'
LOGOUT_PATH = '/logout'
SOCKET_PREFIX = '/_nicegui_ws/'
# Open without a sign-in: the login page and what it loads (NiceGUI's versioned static code, no data), the socket
# (its handshake is checked by socket_guard), and the embedded server's routes, which check a key or token themselves.
PUBLIC_PREFIXES = (f'/_nicegui/{NICEGUI_VERSION}/', SOCKET_PREFIX)
# Health, readiness and metrics (voice_ui/ops.py) answer the balancer without a sign-in; /metrics checks its own.
PUBLIC_PATHS = {LOGIN_PATH, SIGNIN_PATH, LOGOUT_PATH, '/favicon.ico', '/v1/realtime', '/v1/realtime/client_secrets',
                '/healthz', '/readyz', '/metrics'}
SAFE_METHODS = {'GET', 'HEAD', 'OPTIONS'}


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AccessMiddleware:
    def __init__(self, app, access: Access) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] not in ('http', 'websocket'):
            await self.app(scope, receive, send)
            return
        headers = header_map(scope)
        host, origin, path = headers.get('host'), headers.get('origin'), scope.get('path', '')
        if not host:
            await refuse(scope, receive, send, 400, 'Bad Request: no Host header.')
            return
        if not self.access.hosts.allows(host):
            log.info('refused a request for a host name that is not allowed (see VOICE_UI_ALLOWED_HOSTS)')
            METRICS.count('voice_ui_refusals_total', reason='host')
            await refuse(scope, receive, send, 421, 'Misdirected Request: this server does not answer to that host '
                                                    'name. Its operator can add it to VOICE_UI_ALLOWED_HOSTS.')
            return
        checks_origin = scope['type'] == 'websocket' or path.startswith(SOCKET_PREFIX) or \
            scope.get('method') not in SAFE_METHODS
        if checks_origin and not self.access.hosts.same_origin(origin, host):
            log.info('refused a request from a foreign Origin')
            METRICS.count('voice_ui_refusals_total', reason='origin')
            await refuse(scope, receive, send, 403, 'Forbidden: cross-origin request.')
            return
        try:
            identity = self.access.identify(scope)
        except self.access.shared_state.errors as error:  # replicas' shared state (Redis) unreachable: fail closed
            log.warning('access state unavailable: %s', type(error).__name__)
            METRICS.count('voice_ui_refusals_total', reason='state_unavailable')
            await refuse(scope, receive, send, 503, 'Service Unavailable: try again in a moment.')
            return
        if identity is None and not is_public(path):
            METRICS.count('voice_ui_refusals_total', reason='unauthorized')
            await self.sign_in_first(scope, receive, send, path)
            return
        scope[SCOPE_KEY] = identity
        if path == LOGIN_PATH and scope['type'] == 'http' and self.access.has_login_page:
            send = ensure_binding(scope, send, self.access.is_secure(scope))  # the cookie its ticket is bound to
        await self.app(scope, receive, send)

    async def sign_in_first(self, scope, receive, send, path: str) -> None:
        accept = header_map(scope).get('accept', '*/*')
        wants_page = scope['type'] == 'http' and scope.get('method') in ('GET', 'HEAD') and \
            ('text/html' in accept or '*/*' in accept)
        if wants_page and self.access.has_login_page:
            query = scope.get('query_string', b'').decode('latin-1')
            target = path + (f'?{query}' if query else '')
            await RedirectResponse(f'{LOGIN_PATH}?next={quote(target, safe="")}', 303)(scope, receive, send)
            return
        message = 'Unauthorized: sign in first.' if self.access.has_login_page else \
            'Unauthorized: sign in through the authenticating proxy in front of this server.'
        await refuse(scope, receive, send, 401, message)


async def refuse(scope, receive, send, status: int, message: str) -> None:
    if scope['type'] == 'websocket':
        # Closing before accepting makes the server answer the upgrade with 403; the message is for people only.
        if (await receive())['type'] == 'websocket.connect':
            await send({'type': 'websocket.close', 'code': 1008})
        return
    await PlainTextResponse(message, status, headers={'Cache-Control': 'no-store'})(scope, receive, send)
