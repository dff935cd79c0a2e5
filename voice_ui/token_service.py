"""Minting short-lived Realtime client secrets, so the API key never leaves this process.

`TokenService` is app-wide (one pooled `httpx.AsyncClient`). What a page may get from it — only when the browser
asks, within the person's limits, reused until close to expiry — is `access.page_tokens.PageTokens`.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from .config import Settings
from .protocol import ErrorCode
from .session_config import session_config

EXPIRY_MARGIN_S = 10  # a token this close to expiry is not handed out: the socket must open before it lapses


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
