"""Who is asking: one `Access` per app holds the policy (hosts, proxies, passwords), the sign-ins and the limits,
and turns an ASGI scope into an `Identity` — or None when someone must sign in first."""
from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nicegui import Client

from ..config import Settings
from .hosts import HostPolicy, Proxies
from .sessions import COOKIE
from .store import LOGIN_ATTEMPTS as LOGIN_ATTEMPTS  # noqa: F401  (re-exported: the limit tests read it)
from .store import Stores, open_stores
from .users_file import PasswordBook, UsersFileError, load_users

HEADER_NAME = re.compile(r'[A-Za-z0-9-]{1,64}')
PRINTABLE = re.compile(r'[^\x21-\x7e]')
SCOPE_KEY = 'voice_ui.identity'  # where the middleware leaves the identity for pages and the socket guard
USERS_FILE_CHECK_S = 1.0  # how often a request may stat the users file (a removed name signs in nowhere after it)
log = logging.getLogger('voice_ui.access')


@dataclass(frozen=True)
class Identity:
    name: str            # shown as "signed in as"; '' for anonymous use and the shared password
    key: str             # what limits count against: user:<name> or ip:<address>
    method: str          # anonymous, password (shared), users (users file), header (reverse proxy)
    session_id: str = ''

    def __repr__(self) -> str:
        return f'Identity(name={self.name!r}, method={self.method!r})'

    @property
    def signed_in(self) -> bool:
        return self.method != 'anonymous'

    @property
    def label(self) -> str:
        """For the header: 'Signed in as ana', or with the shared password."""
        return f'Signed in as {self.name}' if self.name else 'Signed in with the shared password'


class Access:
    def __init__(self, settings: Settings, book: PasswordBook | None, stores: Stores | None = None) -> None:
        self.hosts = HostPolicy(settings.allowed_hosts, settings.host)
        self.proxies = Proxies(settings.trusted_proxies)
        self.book = book
        self.header = settings.auth_header.strip().lower()
        if self.header and not HEADER_NAME.fullmatch(self.header):
            raise SystemExit(f'VOICE_UI_AUTH_HEADER: {settings.auth_header[:80]!r} is not a header name')
        stores = stores or open_stores(settings)  # in memory, or in Redis shared with the other replicas
        self.sessions, self.mints, self.failed_logins = stores.sign_ins, stores.mints, stores.failed_logins
        self.open_sessions, self.shared_state = stores.open_sessions, stores
        self.password_checks = asyncio.Semaphore(2)  # scrypt takes ~32 MiB and a core: a flood of attempts queues
        self.sign_in_queues: dict[str, Any] = {}  # limit key -> its attempts under way (login.AddressQueue)
        self.pages: dict[str, Identity | str] = {}  # client id -> whom the page was rendered for (or 'public')
        self.users_file = Path(settings.users_file) if settings.users_file and book is not None else None
        self._users_seen, self._users_checked = self._users_stamp(), 0.0

    def bind_page(self, client: Client, identity: Identity | str) -> None:
        """Remember whom a page was rendered for: only that identity's socket may then drive it."""
        self.pages[client.id] = identity
        sign_in = self.sessions.get(identity.session_id) if isinstance(identity, Identity) else None
        if sign_in is not None:
            sign_in.clients.add(client.id)
        client.on_delete(lambda: self._unbind(client.id, sign_in))

    def _unbind(self, client_id: str, sign_in) -> None:
        self.pages.pop(client_id, None)
        if sign_in is not None:
            sign_in.clients.discard(client_id)

    @property
    def enabled(self) -> bool:
        """Someone must be let in: by password (login page) or by a trusted proxy's header."""
        return self.book is not None or bool(self.header)

    @property
    def has_login_page(self) -> bool:
        return self.book is not None

    def identify(self, scope: dict) -> Identity | None:
        headers = header_map(scope)
        peer = (scope.get('client') or ('', 0))[0]
        address = self.proxies.client_address(peer, headers.get('x-forwarded-for'))
        if not self.enabled:
            return Identity('', f'ip:{address}', 'anonymous')
        if self.header and self.proxies.trusts(peer):
            user = PRINTABLE.sub('', headers.get(self.header, ''))[:64]
            if user:
                return Identity(user, f'user:{user}', 'header')
        if self.book is not None:
            sign_in = self.sessions.from_cookie(cookie(headers.get('cookie', ''), COOKIE))
            if sign_in is not None and self._still_listed(sign_in.method, sign_in.name):
                key = f'user:{sign_in.name}' if sign_in.name else f'ip:{address}'
                return Identity(sign_in.name, key, sign_in.method, sign_in.id)
        return None

    def still_valid(self, identity: Identity) -> bool:
        """A sign-in can end (logout, expiry) while its page stays open: such a page gets no more tokens."""
        if identity.method in ('password', 'users'):
            return self._still_listed(identity.method, identity.name) and \
                self.sessions.get(identity.session_id) is not None
        return True

    def _still_listed(self, method: str, name: str) -> bool:
        """A users-file sign-in holds only while its name is in the file (`python -m voice_ui.users remove`)."""
        if method != 'users' or self.book is None:
            return True
        if time.monotonic() - self._users_checked > USERS_FILE_CHECK_S:
            self.refresh_users()
        return name in self.book.users

    def refresh_users(self) -> None:
        """Re-read the users file when it changed; a broken file keeps the names read last (and says so)."""
        self._users_checked = time.monotonic()
        stamp = self._users_stamp()
        if self.users_file is None or self.book is None or stamp == self._users_seen:
            return
        try:
            self.book.users = load_users(self.users_file)
        except UsersFileError as error:
            if 'has no users' in str(error):  # the last name was removed: nobody signs in with a name any more
                self.book.users = {}
            else:
                log.warning('VOICE_UI_USERS_FILE changed but cannot be used (%s): keeping the names read before', error)
        self._users_seen = stamp

    def _users_stamp(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self.users_file) if getattr(self, 'users_file', None) else None
        except OSError:
            return None
        return (status.st_mtime_ns, status.st_size) if status else None

    def is_secure(self, scope: dict) -> bool:
        """Served over TLS, directly or behind a trusted proxy: then the cookie is marked Secure."""
        if scope.get('scheme') in ('https', 'wss'):
            return True
        peer = (scope.get('client') or ('', 0))[0]
        proto = header_map(scope).get('x-forwarded-proto', '').split(',')[0].strip().lower()
        return self.proxies.trusts(peer) and proto == 'https'

    def client_address(self, scope: dict) -> str:
        peer = (scope.get('client') or ('', 0))[0]
        return self.proxies.client_address(peer, header_map(scope).get('x-forwarded-for'))


def header_map(scope: dict) -> dict[str, str]:
    """Lower-case header names → values (repeated headers: the first; bytes decoded as latin-1, as HTTP does)."""
    headers: dict[str, str] = {}
    for name, value in scope.get('headers') or ():
        headers.setdefault(name.decode('latin-1').lower(), value.decode('latin-1'))
    return headers


def cookie(header: str, name: str) -> str | None:
    for part in header.split(';'):
        key, _, value = part.strip().partition('=')
        if key == name:
            return value.strip().strip('"')
    return None
