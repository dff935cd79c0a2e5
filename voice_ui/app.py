"""Wiring: settings → backend (OpenAI, or the embedded server on this same port) → pages → `ui.run`."""
from __future__ import annotations

import logging
import secrets

from nicegui import app, ui

from . import native, ops
from .access import create_access, install, serving_warnings
from .config import Settings
from .local_realtime.limits import ServerLimits
from .local_realtime.uvicorn_guards import server_options
from .page import Backend, register_pages
from .token_service import TokenService


def create_backend(settings: Settings) -> Backend:
    """OpenAI when a key is set; otherwise the embedded server, reached through the very same token service."""
    if not settings.uses_embedded_server:
        browser_url = settings.browser_realtime_url or settings.ws_url  # e.g. the balancer's public address
        if not browser_url.startswith(('ws://', 'wss://')):
            raise SystemExit('VOICE_UI_BROWSER_REALTIME_URL must start with ws:// or wss://')
        return Backend(settings, TokenService(settings), f'OpenAI · {settings.model}', browser_url)
    from .local_realtime.server_config import LocalRealtimeConfig
    from .local_realtime.server import mount_local_realtime
    from .speech import default_agent

    key = 'local-' + secrets.token_urlsafe(24)  # lives only in this process, like a real key would
    agent = default_agent()
    mount_local_realtime(app, LocalRealtimeConfig(api_keys={key}, agent=agent))
    if hasattr(agent, 'warm_up'):
        app.on_startup(agent.warm_up)  # load speech models off the event loop before the first turn
    local = settings.with_embedded_server(key)
    label = f'Embedded server (no OpenAI key) · {agent.description}'
    return Backend(local, TokenService(local), label, None)


def run(settings: Settings) -> None:
    if settings.native:
        native.configure()
    if native.is_window_process():
        return  # NiceGUI's window process re-imports main.py: it needs the native configuration above, no backend
    access = create_access(settings)  # before anything is served: refuses to start when the key would be exposed
    install(app, access)
    ops.install(settings, access)  # /healthz, /readyz, /metrics
    register_pages(create_backend(settings), access)
    for warning in serving_warnings(settings, access):
        logging.getLogger('voice_ui').warning(warning)
    ui.run(host=settings.host, port=settings.port, title=native.WINDOW_TITLE, reload=False, dark=None,
           native=settings.native, window_size=native.WINDOW_SIZE if settings.native else None,
           show=settings.open_browser and not settings.native, favicon='🎙️',
           storage_secret=settings.secret or None,  # the same on every replica (NiceGUI's user storage in Redis)
           **server_options(ServerLimits(), choose_ws=False))  # bad or idle handshakes are answered or dropped
