"""The tokens one page may have: `get()` answers the browser's `token_wanted`, never a page render.

Each `get()` checks, in order: the page's socket is connected, its sign-in still holds, the person has room under
the open-session limit, and — only when a new token must be minted — that a silent page is not collecting tokens,
and the mint limit. A token is reused until close to expiry, so a prefetch followed by Start mints once.

What the limit can count: on the OpenAI path the voice session runs browser→OpenAI, out of the server's sight, so
it counts what a page holds and what it reports. Every token handed to a page (a prefetch too) reserves one of the
person's `VOICE_UI_MAX_SESSIONS` slots for as long as that token lives; a status report then turns the slot into an
open session (connecting … speaking) or frees it (idle, closed, error). A page that never reports holds its slot
until its last token expires, and gets its next token no sooner than EXPIRY_MARGIN_S before that one expires (nor
within EXPIRY_MARGIN_S of it): at most two live tokens, overlapping by at most that margin. README: "What the
limits can and cannot hold".
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..config import Settings
from ..metrics import METRICS
from ..token_service import EXPIRY_MARGIN_S, EphemeralToken, TokenError, TokenService
from .core import Access, Identity
from .limits import OPEN_STATUSES, seconds


class PageTokens:
    def __init__(self, service: TokenService, access: Access, identity: Identity, page_id: str,
                 connected: Callable[[], bool], clock: Callable[[], float] = time.time,
                 session: Callable[[], Settings] | None = None) -> None:
        """`session`: this page's settings (the person's choices over the app's) at the moment of a mint."""
        self._service, self._access, self.identity, self._page = service, access, identity, page_id
        self._connected, self._clock, self._session = connected, clock, session
        self._token = EphemeralToken()
        self._minted_at = 0.0
        self._unreported = False  # the last token was handed out and no status came since
        self._lock = asyncio.Lock()

    async def get(self, reason: str = 'start') -> EphemeralToken:
        """A token valid for at least EXPIRY_MARGIN_S more seconds, or TokenError with words for the person."""
        try:
            return await self._get(reason)
        except TokenError as error:
            METRICS.count('voice_ui_refusals_total', reason=error.kind)
            raise

    async def _get(self, reason: str) -> EphemeralToken:
        if not self._connected():
            raise TokenError('no_socket', 'The page lost its connection to the server. Reload the page.')
        if not self._access.still_valid(self.identity):
            raise TokenError('signed_out', 'You are signed out. Reload the page to sign in again.')
        sessions, key = self._access.open_sessions, self.identity.key
        held = sessions.holds(key, self._page)
        # Before the mint (two tabs cannot both pass), for as long as the token to be handed out can live.
        if not sessions.try_reserve(key, self._page, self._hold_s()):
            raise TokenError('session_limit', session_limit_message(sessions.limit, self._service.settings.token_ttl_s))
        try:
            async with self._lock:
                if not self._token.usable(self._clock()):
                    self._token = await self._mint()
                    self._minted_at, self._unreported = self._clock(), True
                sessions.try_reserve(key, self._page, self._hold_s())  # the token handed out: its real expiry
                return self._token
        except TokenError:
            if not held:
                sessions.release(key, self._page)
            raise

    def _hold_s(self) -> float:
        """How long this page's slot must hold for the token it has or is about to get."""
        now = self._clock()
        if self._token.usable(now):
            return self._token.expires_at - now
        return float(self._service.settings.token_ttl_s)

    def _silent_wait(self) -> float:
        """Seconds until a page that has not reported on its last token may have another (0: now)."""
        if not self._unreported:
            return 0.0
        ready_at = max(self._token.expires_at - EXPIRY_MARGIN_S, self._minted_at + EXPIRY_MARGIN_S)
        return max(0.0, ready_at - self._clock())

    async def _mint(self) -> EphemeralToken:
        silent = self._silent_wait()
        if silent:
            raise TokenError('unused_token', 'This page has not used its last session token yet. Try again in '
                             f'{seconds(silent)} s.')
        mints = self._access.mints
        wait = mints.take(self.identity.key)  # a failed mint counts too: it still reached the key's owner
        if wait:
            raise TokenError('mint_limit', f'Too many sessions were started {self._whose()} in the last minute '
                             f'(the limit is {mints.limit} a minute). Try again in {seconds(wait)} s.')
        try:
            token = await self._service.mint(self._session() if self._session else None)
        except TokenError:
            METRICS.count('voice_ui_mints_total', outcome='error')
            raise
        METRICS.count('voice_ui_mints_total', outcome='ok')
        return token

    def _whose(self) -> str:
        return 'from this address' if self.identity.key.startswith('ip:') else f'as {self.identity.name}'

    @property
    def limit(self) -> int:
        return self._access.open_sessions.limit

    def status(self, status: str) -> bool:
        """The page's mirrored status: connecting/listening/thinking/speaking hold a session open.

        False when the page opened a session (with a token prefetched while there was room) that the person's
        open-session limit has no room for any more: the page must close it."""
        sessions, key = self._access.open_sessions, self.identity.key
        self._unreported = False
        opening = status in OPEN_STATUSES and not sessions.holds(key, self._page)
        if opening and not sessions.try_reserve(key, self._page):
            METRICS.count('voice_ui_refusals_total', reason='session_limit')
            return False
        sessions.status(key, self._page, status)
        METRICS.session(self._page, status in OPEN_STATUSES)
        return True

    def close(self) -> None:
        """The page went away: its session, if any, is closed."""
        self._access.open_sessions.release(self.identity.key, self._page)
        METRICS.session(self._page, False)


def session_limit_message(limit: int, token_ttl_s: int | None = None) -> str:
    ready = f' A tab ready to start counts too, up to {token_ttl_s} s after it was last used.' if token_ttl_s else ''
    return (f'You already have {limit} voice session{"s" if limit != 1 else ""} open (the limit).{ready} Close one '
            'in another tab or window (Close Session, or close the tab), then press Start Speaking again.')
