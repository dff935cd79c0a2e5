"""NiceGUI's socket.io, guarded: who may bind a socket to a page, and which socket may speak for which page.

NiceGUI accepts any Origin (`cors_allowed_origins='*'`), binds a socket to whichever client id it names, and routes
each event by the client id inside the message. Here:
- engine.io accepts an Origin only when it names the host the request went to (no foreign page can read or
  open the socket; the middleware also refuses it);
- a handshake binds a socket to a page only if the socket's identity (its cookie or proxy header) is the one the
  page was rendered for; the login page is the only public one;
- an event, JavaScript answer, ack or log counts only from the socket bound to that page.
"""
from __future__ import annotations

import logging
import urllib.parse
from typing import Any

import socketio
from nicegui import core

from .core import SCOPE_KEY, Access, Identity
from .revocation import REVOKED

log = logging.getLogger('voice_ui.access')
PUBLIC = 'public'
ROUTED_EVENTS = ('event', 'javascript_response', 'ack', 'log')
RELOAD = 'Implicit handshake failed'  # nicegui.js: connect_error with this message -> window.location.reload()
_originals: dict[str, Any] = {}
_access: Access | None = None


def install(access: Access) -> None:
    """Guard the process-wide socket.io server for this app (idempotent: the latest `Access` is used)."""
    global _access
    _access = access
    sio = core.sio
    sio.eio.cors_allowed_origins = _origin_allowed
    handlers = sio.handlers.setdefault('/', {})
    if not _originals:
        _originals.update({name: handlers[name] for name in ('connect', 'handshake', *ROUTED_EVENTS)})
    sio.on('connect', _connect)
    sio.on('handshake', _handshake)
    for name in ROUTED_EVENTS:
        sio.on(name, _routed(name))


def _origin_allowed(origin: str | None, environ: dict) -> bool:
    return _access is not None and _access.hosts.same_origin(origin, environ.get('HTTP_HOST'))


async def _connect(sid: str, environ: dict, auth: Any = None) -> Any:
    query = {k: v[0] for k, v in urllib.parse.parse_qs(environ.get('QUERY_STRING', '')).items()}
    if query.get('implicit_handshake', '') == 'true' and not may_bind(environ, query.get('client_id', '')):
        # NiceGUI's page reloads on exactly these words. That matters behind a balancer: when a replica dies, its
        # pages reconnect to another that never rendered them, and the reload (through the gate) renders them anew.
        raise socketio.exceptions.ConnectionRefusedError(RELOAD)
    return await _originals['connect'](sid, environ, auth)


async def _handshake(sid: str, data: Any) -> bool:
    if not isinstance(data, dict) or not may_bind(core.sio.get_environ(sid) or {}, str(data.get('client_id', ''))):
        return False
    return await _originals['handshake'](sid, data)


def _routed(name: str):
    original = _originals[name]

    async def guarded(sid: str, msg: Any) -> Any:
        if not isinstance(msg, dict) or msg.get('client_id') not in core.sio.rooms(sid):
            return None  # a socket speaking for a page it is not bound to
        if _access is not None and _access.pages.get(msg['client_id']) == REVOKED:
            return None  # its sign-in ended (here or on another replica): the page is on its way out
        result = original(sid, msg)
        return await result if hasattr(result, '__await__') else result
    return guarded


def may_bind(environ: dict, client_id: str) -> bool:
    access = _access
    if access is None or not access.enabled:
        return True
    page = access.pages.get(client_id)
    if page == PUBLIC:
        return True
    identity: Identity | None = (environ.get('asgi.scope') or {}).get(SCOPE_KEY)
    if isinstance(page, Identity) and identity is not None and \
            (identity.key, identity.session_id) == (page.key, page.session_id):
        return True
    log.info('refused a socket for a page rendered for someone else (or for nobody)')
    return False
