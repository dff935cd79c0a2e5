"""Minting short-lived Realtime client secrets, so the API key never leaves this process.

`TokenService` is app-wide (one pooled `httpx.AsyncClient`); `PrefetchedToken` is per page: it mints on page load
and re-mints before expiry so Start Speaking never waits for a round trip, and never hands out a stale token.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from .config import Settings
from .protocol import ErrorCode
from .session_config import session_config

EXPIRY_MARGIN_S = 10  # a token this close to expiry is not handed out: the socket must open before it lapses
RETRY_AFTER_FAILURE_S = 20
KEEP_FRESH_WHILE_IDLE_S = 15 * 60  # a tab left open overnight must not mint every minute: then Start mints itself


@dataclass(frozen=True)
class EphemeralToken:
    value: str = ''
    expires_at: float = 0.0

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f'EphemeralToken(expires_at={self.expires_at})'

    def usable(self, now: float) -> bool:
        return self.expires_at - now > EXPIRY_MARGIN_S


class TokenError(Exception):
    """A mint failure, with a message meant for the person in front of the page."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


class TokenService:
    def __init__(self, settings: Settings, *, timeout_s: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.host = urlsplit(settings.base_url).netloc
        self._client = httpx.AsyncClient(base_url=settings.base_url.rstrip('/') + '/', timeout=timeout_s,
                                         transport=transport, limits=httpx.Limits(max_keepalive_connections=10))

    def request_body(self) -> dict:
        return {'expires_after': {'anchor': 'created_at', 'seconds': self.settings.token_ttl_s},
                'session': session_config(self.settings)}

    async def mint(self) -> EphemeralToken:
        try:
            response = await self._client.post('realtime/client_secrets', json=self.request_body(),
                                               headers={'Authorization': f'Bearer {self.settings.api_key}'})
        except httpx.TimeoutException as exc:
            raise TokenError('timeout', f'Timed out reaching {self.host} for a session token. Try again.') from exc
        except httpx.TransportError as exc:
            raise TokenError('network', f'Cannot reach {self.host} ({type(exc).__name__}). '
                                        'Check the network connection and OPENAI_BASE_URL.') from exc
        if response.status_code != 200:
            raise failure_for(response)
        try:
            body = response.json()
            return EphemeralToken(value=body['value'], expires_at=float(body['expires_at']))
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError('bad_response', f'{self.host} answered the token request with something unexpected.') \
                from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def failure_for(response: httpx.Response) -> TokenError:
    """Translate an OpenAI error response into words a person can act on."""
    status = response.status_code
    try:
        error = response.json().get('error') or {}
    except ValueError:
        error = {}
    detail = (error.get('message') or '').strip()
    code = error.get('code') or ''
    if status == 401:
        return TokenError('invalid_key', 'The OpenAI API key was rejected (401). Check OPENAI_API_KEY.', status)
    if status == 429 and code == ErrorCode.INSUFFICIENT_QUOTA:
        return TokenError('quota', 'The OpenAI account has run out of quota (429). Check plan and billing.', status)
    if status == 429:
        return TokenError('rate_limit', 'Too many requests right now (429). Wait a moment and try again.', status)
    if status == 400:
        return TokenError('bad_request', f'The session settings were refused (400): {detail or "no details"}', status)
    if status >= 500:
        return TokenError('server', f'The voice service had a problem ({status}). Try again shortly.', status)
    return TokenError('http', f'The token request failed ({status}): {detail or response.reason_phrase}', status)


class PrefetchedToken:
    """Keeps one fresh token ready for a page while it is in use (up to `keep_fresh_s` after the last `get`)."""

    def __init__(self, service: TokenService, clock: Callable[[], float] = time.time,
                 keep_fresh_s: float = KEEP_FRESH_WHILE_IDLE_S) -> None:
        self._service, self._clock, self._keep_fresh_s = service, clock, keep_fresh_s
        self._token = EphemeralToken()
        self._refresher: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._last_used = clock()

    async def get(self) -> EphemeralToken:
        """A token valid for at least EXPIRY_MARGIN_S more seconds; mints now if the prefetched one is stale."""
        self._last_used = self._clock()
        self.start()  # a page idle long enough to stop refreshing starts again when used
        return await self._fresh()

    async def _fresh(self) -> EphemeralToken:
        async with self._lock:
            if not self._token.usable(self._clock()):
                self._token = await self._service.mint()
            return self._token

    def start(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(self._keep_fresh())

    def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None

    async def _keep_fresh(self) -> None:
        while self._clock() - self._last_used < self._keep_fresh_s:
            try:
                token = await self._fresh()
                delay = max(1.0, token.expires_at - self._clock() - EXPIRY_MARGIN_S)
            except TokenError:
                delay = RETRY_AFTER_FAILURE_S  # Start will mint again and show the error itself
            await asyncio.sleep(delay)
