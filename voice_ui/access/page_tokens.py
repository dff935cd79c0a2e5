"""The tokens one page may have: `get()` answers the browser's `token_wanted`, never a page render.

Each `get()` checks, in order: the page's socket is connected, its sign-in still holds, a start would not exceed
the person's open-session limit, and — only when a new token must be minted — the mint limit. A token is reused
until close to expiry, so a prefetch followed by Start mints once.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ..metrics import METRICS
from ..token_service import EphemeralToken, TokenError, TokenService
from .core import Access, Identity
from .limits import OPEN_STATUSES, seconds


class PageTokens:
    def __init__(self, service: TokenService, access: Access, identity: Identity, page_id: str,
                 connected: Callable[[], bool], clock: Callable[[], float] = time.time) -> None:
        self._service, self._access, self.identity, self._page = service, access, identity, page_id
        self._connected, self._clock = connected, clock
        self._token = EphemeralToken()
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
        if reason == 'start':
            if not sessions.try_reserve(key, self._page):  # before the mint: two tabs cannot both pass
                raise TokenError('session_limit', session_limit_message(sessions.limit))
        try:
            async with self._lock:
                if not self._token.usable(self._clock()):
                    self._token = await self._mint()
                return self._token
        except TokenError:
            if reason == 'start' and not held:
                sessions.release(key, self._page)
            raise

    async def _mint(self) -> EphemeralToken:
        mints = self._access.mints
        wait = mints.take(self.identity.key)  # a failed mint counts too: it still reached the key's owner
        if wait:
            raise TokenError('mint_limit', f'Too many sessions were started {self._whose()} in the last minute '
                             f'(the limit is {mints.limit} a minute). Try again in {seconds(wait)} s.')
        try:
            token = await self._service.mint()
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


def session_limit_message(limit: int) -> str:
    return (f'You already have {limit} voice session{"s" if limit != 1 else ""} open (the limit). Close one in '
            'another tab or window (Close Session), then press Start Speaking again.')
