"""Access control: who may use the page (login page, users file or a trusted proxy's header), from which host
names and origins, and how many tokens and sessions each person gets. Off on loopback by default; required to
serve an OpenAI key beyond it.

    access = create_access(settings)   # refuses to start (SystemExit) with a message saying what to set
    install(app, access)               # middleware, socket guard, /login, /logout
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..config import Settings
from .core import Access, Identity
from .hosts import is_loopback
from .users_file import PasswordBook, UsersFileError, hash_password, load_users

__all__ = ['Access', 'Identity', 'create_access', 'install', 'serving_warnings']
log = logging.getLogger('voice_ui.access')
MIN_SHARED_PASSWORD = 8
HOW_TO_PROTECT = (
    '  VOICE_UI_PASSWORD=...                 one shared password (at least 8 characters), or\n'
    '  VOICE_UI_USERS_FILE=users.txt         one password per person: python -m voice_ui.users add NAME, or\n'
    '  VOICE_UI_AUTH_HEADER=X-Forwarded-User with VOICE_UI_TRUSTED_PROXIES=<proxy address>\n'
    '                                        behind oauth2-proxy, Authelia, Cloudflare Access, ...')
OR_ELSE = '\nor serve on this machine only (--host 127.0.0.1), or pass --public to let anyone in knowingly.'


def create_access(settings: Settings) -> Access:
    """The access policy for these settings, or SystemExit with a message that says what to set."""
    if settings.password and settings.users_file:
        raise SystemExit('Set either VOICE_UI_PASSWORD or VOICE_UI_USERS_FILE, not both.')
    if settings.auth_header and not settings.trusted_proxies:
        raise SystemExit('VOICE_UI_AUTH_HEADER is believed only from your reverse proxy: set '
                         'VOICE_UI_TRUSTED_PROXIES to its address(es) or CIDR(s), e.g. 127.0.0.1.')
    access = Access(settings, password_book(settings))
    if exposes_key(settings) and not access.enabled and not settings.public:
        raise SystemExit(f'Refusing to start: serving on {settings.host} would let anyone who reaches '
                         f'port {settings.port} spend your OpenAI key. Set one of\n{HOW_TO_PROTECT}{OR_ELSE}')
    return access


def password_book(settings: Settings) -> PasswordBook | None:
    if settings.users_file:
        try:
            return PasswordBook(users=load_users(Path(settings.users_file)))
        except UsersFileError as error:
            raise SystemExit(f'VOICE_UI_USERS_FILE: {error}') from None
    if settings.password:
        if len(settings.password) < MIN_SHARED_PASSWORD:
            raise SystemExit(f'VOICE_UI_PASSWORD must have at least {MIN_SHARED_PASSWORD} characters.')
        return PasswordBook(shared=hash_password(settings.password))
    return None


def exposes_key(settings: Settings) -> bool:
    return not settings.uses_embedded_server and not is_loopback(settings.host.strip('[]').lower())


def serving_warnings(settings: Settings, access: Access) -> list[str]:
    warnings = []
    if exposes_key(settings) and not access.enabled:
        warnings.append('\n' + '!' * 78 + f'\n  --public: voice-ui serves {settings.host}:{settings.port} WITHOUT '
                        'authentication.\n  Anyone who can reach it talks on your OpenAI key (limits: '
                        f'{settings.mints_per_minute} tokens a minute and {settings.max_sessions} sessions per '
                        f'address).\n  To protect it set one of\n{HOW_TO_PROTECT}\n' + '!' * 78)
    if access.hosts.any:
        warnings.append('VOICE_UI_ALLOWED_HOSTS contains *: any Host name is answered (no DNS-rebinding guard).')
    elif not is_loopback(settings.host.strip('[]').lower()) and not access.hosts.configured:
        warnings.append(f'Serving on {settings.host}: only loopback names and this machine\'s addresses are '
                        'answered. Set VOICE_UI_ALLOWED_HOSTS to the name(s) people type, e.g. voice.example.com.')
    return warnings


def install(app, access: Access) -> None:
    """Put the gate in front of everything in `app` (NiceGUI's), guard its socket, add /login and /logout."""
    from . import socket_guard
    from .login import register_login
    from .middleware import AccessMiddleware
    app.add_middleware(AccessMiddleware, access=access)
    socket_guard.install(access)
    if access.has_login_page:
        register_login(access)
        from .middleware import LOGOUT_PATH
        from .revocation import Revoker
        app.on_startup(Revoker(access, LOGOUT_PATH).start)  # a sign-in ended elsewhere ends its pages here too
