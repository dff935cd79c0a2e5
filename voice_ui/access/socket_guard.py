"""NiceGUI's socket.io, guarded: who may bind a socket to a page, and which socket may speak for which page.

NiceGUI accepts any Origin (`cors_allowed_origins='*'`), binds a socket to whichever client id it names, and routes
each event by the client id inside the message. Here:
- engine.io accepts an Origin only when it names the host the request went to (no foreign page can read or
  open the socket; the middleware also refuses it);
- a handshake binds a socket to a page only if the socket's identity (its cookie or proxy header) is the one the
  page was rendered for; the login page is the only public one;
- an event, JavaScript answer, ack or log counts only from the socket bound to that page.
- a handshake or routed message missing a field NiceGUI reads, or with one of another type (an id that is an object,
  an argument that is not JSON), is dropped instead of raising in socket.io's task; a page's log line is marked as
  the page's, kept on one line and short, and logged as a warning at most (no forged ERROR lines).
"""
from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Any

import socketio
from nicegui import core

from .core import SCOPE_KEY, Access, Identity
from .revocation import REVOKED

log = logging.getLogger('voice_ui.access')
PUBLIC = 'public'
ROUTED_EVENTS = ('event', 'javascript_response', 'ack', 'log')
LOG_LEVELS = ('debug', 'info', 'warning', 'error')  # nicegui.Client.handle_log_message's
MAX_LOG_CHARS = 2_000
CONTROL = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029]')
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
    if query.get('implicit_handshake', '') == 'true' and \
            not (handshake_ok(query) and may_bind(environ, query.get('client_id', ''))):
        # NiceGUI's page reloads on exactly these words. That matters behind a balancer: when a replica dies, its
        # pages reconnect to another that never rendered them, and the reload (through the gate) renders them anew.
        raise socketio.exceptions.ConnectionRefusedError(RELOAD)
    return await _originals['connect'](sid, environ, auth)


async def _handshake(sid: str, data: Any) -> bool:
    if not handshake_ok(data) or not may_bind(core.sio.get_environ(sid) or {}, data['client_id']):
        return False
    return await _originals['handshake'](sid, data)


def _routed(name: str):
    original = _originals[name]

    async def guarded(sid: str, msg: Any) -> Any:
        if not isinstance(msg, dict) or not isinstance(msg.get('client_id'), str) or \
                msg['client_id'] not in core.sio.rooms(sid):
            return None  # a socket speaking for a page it is not bound to
        if not well_formed(name, msg):
            return None  # NiceGUI would raise on it (KeyError, TypeError) inside socket.io's task
        if _access is not None and _access.pages.get(msg['client_id']) == REVOKED:
            return None  # its sign-in ended (here or on another replica): the page is on its way out
        try:
            result = original(sid, msg)
            return await result if hasattr(result, '__await__') else result
        except (KeyError, TypeError, ValueError) as error:  # e.g. an argument that is not JSON, an unknown listener
            log.debug('dropped a malformed %s message (%s)', name, type(error).__name__)
            return None
    return guarded


def handshake_ok(data: Any) -> bool:
    """The handshake's fields NiceGUI reads, as nicegui.js sends them (a missing one raised KeyError in its handler)."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and 0 < len(data[k]) <= 128
                                             for k in ('client_id', 'tab_id', 'document_id')):
        return False
    old, next_id = data.get('old_tab_id'), data.get('next_message_id')
    return (old is None or isinstance(old, str)) and \
        (next_id is None or is_int(next_id) or (isinstance(next_id, str) and next_id.isdigit() and len(next_id) < 19))


def well_formed(name: str, msg: dict) -> bool:
    """The fields NiceGUI reads from each routed message, of the types it assumes (nicegui.js sends no other)."""
    if name == 'event':
        args = msg.get('args', [])
        return is_int(msg.get('id')) and isinstance(msg.get('listener_id'), str) and isinstance(args, list) and \
            all(arg is None or isinstance(arg, str) for arg in args)
    if name == 'javascript_response':
        return isinstance(msg.get('request_id'), str)
    if name == 'ack':
        return is_int(msg.get('next_message_id'))
    if msg.get('level') not in LOG_LEVELS or not isinstance(msg.get('message'), str):
        return False
    # A page's report: said to be one (no forged server lines), on one line, short, and at most a warning.
    msg['message'] = 'browser: ' + CONTROL.sub(' ', msg['message'][:MAX_LOG_CHARS])
    msg['level'] = 'warning' if msg['level'] == 'error' else msg['level']
    return True


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
