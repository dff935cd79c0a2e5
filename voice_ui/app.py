"""Wiring: settings → backend (OpenAI, or the embedded server on this same port) → pages → `ui.run`."""
from __future__ import annotations

import errno
import logging
import secrets
import socket

from nicegui import app, ui
from nicegui.helpers import is_pytest

from . import native, ops
from .access import create_access, install, serving_warnings
from .config import Settings
from .local_realtime.limits import ServerLimits
from .local_realtime.uvicorn_guards import server_options
from .page import Backend, register_pages
from .settings import storage_secret
from .token_service import TokenService


def create_backend(settings: Settings) -> Backend:
    """OpenAI when a key is set; otherwise the embedded server, reached through the very same token service."""
    if not settings.uses_embedded_server:
        browser_url = settings.browser_realtime_url or settings.ws_url  # e.g. the balancer's public address
        if not browser_url.startswith(('ws://', 'wss://')):
            raise SystemExit('VOICE_UI_BROWSER_REALTIME_URL must start with ws:// or wss://')
        return Backend(settings, TokenService(settings), f'OpenAI · {settings.model}', browser_url)
    from .local_realtime.end_of_turn import describe_turn_model
    from .local_realtime.server import mount_local_realtime
    from .local_realtime.server_config import LocalRealtimeConfig
    from .local_realtime.turn_detectors import describe_vad
    from .speech import default_agent

    key = 'local-' + secrets.token_urlsafe(24)  # lives only in this process, like a real key would
    agent = default_agent()
    try:  # VOICE_UI_VAD / VOICE_UI_TURN_MODEL are read here: a bad value or a model that cannot run stops the start
        config = LocalRealtimeConfig(api_keys={key}, agent=agent)
    except ValueError as error:
        raise SystemExit(f'voice-ui cannot start: {error}') from None
    mount_local_realtime(app, config)
    if hasattr(agent, 'load'):
        agent.load()  # before serving: a model that cannot load is said now, and the header never advertises it
    local = settings.with_embedded_server(key)
    label = f'Embedded server ({"--local" if settings.api_key else "no OpenAI key"}) · {agent.description}'
    detail = f'embedded server: {describe_vad(config.engine.vad)}; {describe_turn_model(config.engine.turn_model)}'
    return Backend(local, TokenService(local), label, None, detail)


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (said before anything claims to be ready), or None."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f'cannot serve on host {host!r}: {exc.strerror}. Use --host 127.0.0.1 or a name this machine has.'
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f'port {port} on {host} is already in use (another voice-ui?). Stop that program, '
                        f'or start on another port: --port {port + 1}')
            return f'cannot serve on {host}:{port}: {exc.strerror}. Choose another --host or --port.'
    return None


def startup_line(backend: Backend) -> str:
    """Which backend and agent answer, and where to open the page: the first thing a person needs to know."""
    settings = backend.settings
    # The embedded server's label names its agent; for OpenAI (or a compatible server) say where and which voice.
    agent = f' at {settings.base_url} · voice {settings.voice}' if backend.browser_ws_url else ''
    host = 'localhost' if settings.host in {'0.0.0.0', '::', ''} else settings.host
    url = f'http://{host}:{settings.port}'
    where = 'a native window' if settings.native else url
    return f'voice-ui: {backend.label}{agent} · open {where}' + (f' (serving {url})' if settings.native else '')


def run(settings: Settings) -> None:
    if settings.native:
        native.configure()
    if native.is_window_process():
        return  # NiceGUI's window process re-imports main.py: it needs the native configuration above, no backend
    if not is_pytest() and (problem := port_problem(settings.host, settings.port)):  # tests serve no port
        raise SystemExit(f'voice-ui cannot start: {problem}')
    access = create_access(settings)  # before anything is served: refuses to start when the key would be exposed
    install(app, access)
    ops.install(settings, access)  # /healthz, /readyz, /metrics
    backend = create_backend(settings)
    register_pages(backend, access)
    for warning in serving_warnings(settings, access):
        logging.getLogger('voice_ui').warning(warning)
    print(startup_line(backend), flush=True)
    if backend.detail:
        print(f'  {backend.detail}', flush=True)
    ui.run(host=settings.host, port=settings.port, title=native.WINDOW_TITLE, reload=False, dark=None,
           native=settings.native, window_size=native.WINDOW_SIZE if settings.native else None,
           show=settings.open_browser and not settings.native, favicon='🎙️',
           storage_secret=storage_secret(settings),  # VOICE_UI_SECRET (the same on every replica) or a kept one
           **server_options(ServerLimits(), choose_ws=False))  # bad or idle handshakes are answered or dropped
