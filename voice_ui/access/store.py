"""Where access state lives: sign-ins, rate windows and open-session counts, in this process or in Redis.

One replica keeps everything in memory (`SessionStore`, `SlidingWindow`, `SessionCounter`). Several replicas
behind a balancer share it in Redis (`voice_ui.access.redis_store`), so a cookie signed in through one replica
works on another, a logout ends the sign-in on all of them and a limit reached through one holds on all.
Both sides meet the small interfaces below; `Access` sees only these.

    stores = open_stores(settings)   # memory, or Redis when NICEGUI_REDIS_URL is set
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..config import Settings
from ..conversation_store import MemoryTranscripts, TranscriptStore
from .limits import SessionCounter, SlidingWindow
from .sessions import SessionStore, SignIn

LOGIN_ATTEMPTS, LOGIN_WINDOW_S = 10, 300  # failed sign-ins per client address
MIN_SECRET = 32
INSTALL_REDIS = "pip install 'voice-ui[redis]'"


class SignIns(Protocol):
    lifetime_s: float

    def create(self, name: str, method: str) -> SignIn: ...
    def cookie_for(self, sign_in: SignIn) -> str: ...
    def from_cookie(self, cookie: str | None) -> SignIn | None: ...
    def get(self, session_id: str) -> SignIn | None: ...
    def end(self, session_id: str) -> SignIn | None: ...
    def ticket_for(self, sign_in: SignIn, holder: str) -> str: ...  # holder: login_binding.ticket_holder
    def redeem(self, ticket: str, holder: str) -> SignIn | None: ...  # spent whether or not holder matches


class RateWindow(Protocol):
    limit: int

    def retry_after(self, key: str) -> float: ...
    def record(self, key: str) -> None: ...
    def take(self, key: str) -> float: ...  # atomically: 0 and recorded, or the wait (nothing recorded)


class OpenSessions(Protocol):
    limit: int

    def count(self, key: str) -> int: ...
    def holds(self, key: str, page: str) -> bool: ...
    def try_reserve(self, key: str, page: str, hold_s: float = ...) -> bool: ...  # atomically: room (or already
    # held) and reserved for hold_s seconds at least (an open session stays open)
    def status(self, key: str, page: str, status: str) -> None: ...
    def release(self, key: str, page: str) -> None: ...


@dataclass
class Stores:
    sign_ins: SignIns
    mints: RateWindow
    open_sessions: OpenSessions
    failed_logins: RateWindow
    ready: Callable[[], str | None]  # None when the shared state answers, else what is wrong (for /readyz)
    kind: str = 'memory'
    errors: tuple[type[Exception], ...] = ()  # what a call raises when the shared state is unreachable
    transcripts: TranscriptStore = field(default_factory=MemoryTranscripts)  # each tab's conversation so far


def open_stores(settings: Settings) -> Stores:
    """In-memory state for one replica, or the Redis-backed one that replicas share (`NICEGUI_REDIS_URL`)."""
    secret = settings.secret.encode() if settings.secret else None
    if not settings.redis_url:
        return Stores(SessionStore(settings.session_hours * 3600, secret=secret),
                      SlidingWindow(settings.mints_per_minute, 60.0), SessionCounter(settings.max_sessions),
                      SlidingWindow(LOGIN_ATTEMPTS, LOGIN_WINDOW_S), ready=lambda: None)
    if secret is None:
        raise SystemExit('NICEGUI_REDIS_URL is set (replicas share state): set VOICE_UI_SECRET to the same long '
                         'random value on every replica (e.g. python -c "import secrets; print(secrets.token_'
                         'urlsafe(32))"), so a cookie signed by one replica is honoured by the others.')
    if len(secret) < MIN_SECRET:
        raise SystemExit(f'VOICE_UI_SECRET must have at least {MIN_SECRET} characters.')
    try:
        from . import redis_store
    except ImportError:
        raise SystemExit(f'NICEGUI_REDIS_URL needs the Redis client: {INSTALL_REDIS}') from None
    return redis_store.open_redis_stores(settings, secret)
