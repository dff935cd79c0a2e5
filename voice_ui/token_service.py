"""Minting short-lived Realtime client secrets, so the API key never leaves this process.

`TokenService` is app-wide (one pooled `httpx.AsyncClient`). What a page may get from it — only when the browser
asks, within the person's limits, reused until close to expiry — is `access.page_tokens.PageTokens`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from .config import Settings
from .protocol import ErrorCode
from .session_config import session_config

EXPIRY_MARGIN_S = 10  # a token this close to expiry is not handed out: the socket must open before it lapses
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,4096}")  # RFC 9110 token characters: a subprotocol can carry it
MAX_EXPIRES_AT = 1e11  # Unix seconds (year 5138): a larger "expiry" is no time at all
MAX_DETAIL = 300  # of an upstream error message shown on the page


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

    def request_body(self, session: Settings | None = None) -> dict:
        """`session`: the app's settings with one person's choices (voice, instructions...), bound in the token so
        the session starts as that person set it; the app's own by default."""
        return {'expires_after': {'anchor': 'created_at', 'seconds': self.settings.token_ttl_s},
                'session': session_config(session or self.settings)}

    async def mint(self, session: Settings | None = None) -> EphemeralToken:
        try:
            response = await self._client.post('realtime/client_secrets', json=self.request_body(session),
                                               headers={'Authorization': f'Bearer {self.settings.api_key}'})
        except httpx.TimeoutException as exc:
            raise TokenError('timeout', f'Timed out reaching {self.host} for a session token. Try again.') from exc
        except httpx.TransportError as exc:
            raise TokenError('network', f'Cannot reach {self.host} ({type(exc).__name__}). '
                                        'Check the network connection and OPENAI_BASE_URL.') from exc
        if response.status_code != 200:
            raise failure_for(response)
        token = token_from(response)
        if token is None:  # the browser would fail on it later, with no word of why
            raise TokenError('bad_response', f'{self.host[:100]} answered the token request with something '
                                             'unexpected.')
        return token

    async def aclose(self) -> None:
        await self._client.aclose()


def token_from(response: httpx.Response) -> EphemeralToken | None:
    """The token of a 200 answer, if it is one a browser can open a socket with (it rides in a WebSocket subprotocol,
    so only an HTTP token's characters), with a real expiry time; else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get('value') if isinstance(body, dict) else None
    expires_at = body.get('expires_at') if isinstance(body, dict) else None
    if not isinstance(value, str) or not TOKEN.fullmatch(value):
        return None
    if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)) or \
            not 0 < expires_at < MAX_EXPIRES_AT:
        return None
    return EphemeralToken(value=value, expires_at=float(expires_at))


def failure_for(response: httpx.Response) -> TokenError:
    """Translate an OpenAI error response into words a person can act on (whatever shape its body has)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get('error') if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message, code = error.get('message'), error.get('code')
    detail = message.strip()[:MAX_DETAIL] if isinstance(message, str) else ''
    code = code if isinstance(code, str) else ''
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
    return TokenError('http', f'The token request failed ({status}): {detail or response.reason_phrase[:100]}', status)
