"""Ephemeral client secrets: `POST /v1/realtime/client_secrets` without the HTTP, plus the token store.

A token binds a session configuration. Its expiry only limits *opening* sessions; one token may open several.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..protocol import ErrorCode, error_body
from .faults import Faults
from .session_schema import RequestError, default_session, merge_session, validate_session
from .value_rules import expect_enum, expect_int, expect_object, type_name

DEFAULT_TTL_S = 600
MIN_TTL_S, MAX_TTL_S = 10, 7200
MINT_FIELDS = {'session', 'expires_after'}
MINT_FAILURES = {
    429: error_body('Rate limit reached for requests (injected by the embedded server).', type='requests',
                    code=ErrorCode.RATE_LIMIT_EXCEEDED),
    500: error_body('The server had an error while processing your request (injected by the embedded server).',
                    type='server_error', code=ErrorCode.SERVER_ERROR),
}


def new_id(prefix: str) -> str:
    return f'{prefix}_{secrets.token_urlsafe(15).replace("-", "x").replace("_", "y")}'


@dataclass
class Grant:
    """What a token (or a permanent API key) allows: opening sessions with this configuration."""
    session: dict
    expires_at: float | None  # epoch seconds; None for API keys
    first_session_id: str | None = None  # the id promised by the mint, used by the first session it opens
    open_sessions: int = 0                # counted by the transport against `max_sessions_per_token`

    def take_session_id(self) -> str:
        session_id, self.first_session_id = self.first_session_id or new_id('sess'), None
        return session_id


@dataclass
class TokenStore:
    api_keys: frozenset[str]
    clock: Callable[[], float]  # epoch seconds
    faults: Faults = field(default_factory=Faults)
    grants: dict[str, Grant] = field(default_factory=dict)

    def mint(self, authorization: str | None, body: object) -> tuple[int, dict]:
        """HTTP status and JSON body of a mint request."""
        if not self.is_api_key(bearer(authorization)):
            return 401, error_body('Incorrect API key provided.', code=ErrorCode.INVALID_API_KEY)
        if (status := self.faults.take_mint_failure()) is not None:
            return status, MINT_FAILURES[status]
        try:
            ttl, requested = parse_mint_body(body)
        except RequestError as error:
            return 400, error_body(error.message, type=error.error_type, code=error.code, param=error.param)
        self.prune()
        now = self.clock()
        session = merge_session(default_session(requested.get('model') or default_session()['model']), requested)
        value = new_id('ek')
        grant = Grant(session, now + ttl, first_session_id=new_id('sess'))
        self.grants[value] = grant
        expires_at = int(now + ttl)
        return 200, {'value': value, 'expires_at': expires_at,
                     'session': {**session, 'id': grant.first_session_id, 'expires_at': expires_at}}

    def grant_for(self, secret: str | None, model: str | None = None) -> Grant | None:
        """The grant behind an ephemeral token or API key, or None when unknown or expired."""
        if not secret:
            return None
        if self.is_api_key(secret):
            return Grant(default_session(model) if model else default_session(), None)
        grant = self.grants.get(secret)
        if grant is None or grant.expires_at is None or grant.expires_at <= self.clock():
            return None
        return grant

    def is_api_key(self, secret: str | None) -> bool:
        return secret is not None and any(secrets.compare_digest(secret, key) for key in self.api_keys)

    def prune(self) -> None:
        now = self.clock()
        for value in [value for value, grant in self.grants.items() if grant.expires_at <= now]:
            del self.grants[value]


def bearer(authorization: str | None) -> str | None:
    scheme, _, credential = (authorization or '').partition(' ')
    return credential.strip() or None if scheme.lower() == 'bearer' else None


def parse_mint_body(body: object) -> tuple[int, dict]:
    """(ttl seconds, requested session) or `RequestError`, checked in the order the service reports."""
    if not isinstance(body, dict):
        raise RequestError(ErrorCode.INVALID_TYPE, f'The request body must be a JSON object, not {type_name(body)}.')
    check_known(body.keys(), MINT_FIELDS, '')
    ttl = DEFAULT_TTL_S
    expires_after = expect_object(body.get('expires_after'), 'expires_after', nullable=True)
    if expires_after is not None:
        check_known(expires_after.keys(), {'anchor', 'seconds'}, 'expires_after.')
        if 'anchor' in expires_after:
            expect_enum(expires_after['anchor'], 'expires_after.anchor', ('created_at',))
        if 'seconds' in expires_after:
            ttl = expect_int(expires_after['seconds'], 'expires_after.seconds', MIN_TTL_S, MAX_TTL_S)
    session = body.get('session')
    if session is None:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, "Missing required parameter: 'session.type'.",
                           'session.type')
    return ttl, validate_session(expect_object(session, 'session'))


def check_known(keys: Iterable[str], known: set[str], prefix: str) -> None:
    for key in keys:
        if key not in known:
            raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{prefix}{key[:100]}'.",
                               f'{prefix}{key[:100]}')
