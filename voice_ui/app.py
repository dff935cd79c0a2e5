"""Wiring: settings → backend (OpenAI, or the embedded server on this same port) → pages → `ui.run`."""
from __future__ import annotations

import os
import secrets

from nicegui import app, ui

from .config import Settings
from .page import Backend, register_pages
from .token_service import TokenService


def create_backend(settings: Settings) -> Backend:
    """OpenAI when a key is set; otherwise the embedded server, reached through the very same token service."""
    if not settings.uses_embedded_server:
        return Backend(settings, TokenService(settings), f'OpenAI · {settings.model}', settings.ws_url)
    from .local_realtime.transport import LocalServerConfig, mount_local_realtime
    from .speech import default_agent

    key = 'local-' + secrets.token_urlsafe(24)  # lives only in this process, like a real key would
    agent = default_agent()
    mount_local_realtime(app, LocalServerConfig(api_keys={key}, agent=agent,
                                                allow_faults=os.environ.get('VOICE_UI_ALLOW_FAULTS') == '1'))
    local = settings.with_embedded_server(key)
    label = f'Embedded server (no OpenAI key) · {agent.description}'
    return Backend(local, TokenService(local), label, None)


def run(settings: Settings) -> None:
    register_pages(create_backend(settings))
    if settings.native:
        os.environ.setdefault('PYWEBVIEW_GUI', 'qt')  # GTK's webview silently refuses the microphone
    ui.run(host=settings.host, port=settings.port, title='voice-ui', reload=False, dark=None,
           native=settings.native, window_size=(520, 820) if settings.native else None,
           show=settings.open_browser and not settings.native, favicon='🎙️')
