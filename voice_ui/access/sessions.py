"""Sign-ins: a server-side table of sessions, named to the browser by a signed cookie.

The cookie holds only a signed random session id (itsdangerous; the key is VOICE_UI_SECRET, else one made at
start), so a forged or tampered cookie fails the signature and a logged-out one finds no session. Sessions live in
this process (a restart signs everyone out) or, for replicas, in Redis (`redis_store`). A successful password
check yields a one-time ticket that the browser trades for the cookie with a plain GET, because the check itself
runs over NiceGUI's socket, which cannot set cookies; only the browser that loaded the login page can redeem it
(login_binding.py).
"""
from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = 'voice_ui_session'
TICKET_TTL_S = 30
MAX_SESSIONS = 10_000   # memory stays bounded: the oldest sign-in goes first
MAX_TICKETS = 1_000


def cookie_serializer(secret: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt='voice-ui-session')


@dataclass
class SignIn:
    id: str
    name: str            # '' for the shared password
    method: str          # 'password' or 'users'
    expires_at: float
    clients: set[str] = field(default_factory=set)  # pages rendered for it (sent to /login on logout)

    def __repr__(self) -> str:  # the id is as good as a password while it lasts
        return f'SignIn(name={self.name!r}, method={self.method!r})'


class SessionStore:
    def __init__(self, lifetime_s: float, clock: Callable[[], float] = time.time, secret: bytes | None = None) -> None:
        self.lifetime_s, self.clock = lifetime_s, clock
        self._serializer = cookie_serializer(secret or secrets.token_bytes(32))
        self._sessions: OrderedDict[str, SignIn] = OrderedDict()
        self._tickets: OrderedDict[str, tuple[str, str, float]] = OrderedDict()  # -> (session id, holder, expiry)

    # --- sessions ---

    def create(self, name: str, method: str) -> SignIn:
        self._purge()
        sign_in = SignIn(secrets.token_urlsafe(32), name, method, self.clock() + self.lifetime_s)
        self._sessions[sign_in.id] = sign_in
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return sign_in

    def cookie_for(self, sign_in: SignIn) -> str:
        return self._serializer.dumps(sign_in.id)

    def from_cookie(self, cookie: str | None) -> SignIn | None:
        if not cookie or len(cookie) > 512:
            return None
        try:
            session_id = self._serializer.loads(cookie, max_age=self.lifetime_s)
        except BadSignature:  # also covers an expired signature
            return None
        return self.get(session_id) if isinstance(session_id, str) else None

    def get(self, session_id: str) -> SignIn | None:
        sign_in = self._sessions.get(session_id)
        if sign_in is None or sign_in.expires_at <= self.clock():
            return None
        return sign_in

    def end(self, session_id: str) -> SignIn | None:
        return self._sessions.pop(session_id, None)

    def _purge(self) -> None:
        now = self.clock()
        for session_id in [i for i, s in self._sessions.items() if s.expires_at <= now][:100]:
            del self._sessions[session_id]

    # --- one-time tickets ---

    def ticket_for(self, sign_in: SignIn, holder: str) -> str:
        """Redeemable once, within seconds, by `holder` only: the address and browser that signed in
        (login_binding.ticket_holder), so nobody can plant their sign-in on another browser."""
        ticket = secrets.token_urlsafe(32)
        self._tickets[ticket] = (sign_in.id, holder, self.clock() + TICKET_TTL_S)
        while len(self._tickets) > MAX_TICKETS:
            self._tickets.popitem(last=False)
        return ticket

    def redeem(self, ticket: str, holder: str) -> SignIn | None:
        """The ticket's sign-in if `holder` is the one it was issued to; spent either way."""
        session_id, issued_to, expires_at = self._tickets.pop(ticket, ('', '', 0.0))
        return self.get(session_id) if expires_at > self.clock() and holder and issued_to == holder else None
