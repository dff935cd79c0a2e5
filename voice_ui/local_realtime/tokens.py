"""Ephemeral client secrets: `POST /v1/realtime/client_secrets` without the HTTP, plus the token store.

A token binds a session configuration. Its expiry only limits *opening* sessions; one token may open several.
Tokens are signed and stateless (`ek_` + itsdangerous-signed, HMAC-SHA256, compact JSON of the expiry, the
promised session id and the requested configuration, zlib-compressed when that is shorter), so any process
holding the same secret (`VOICE_UI_TOKEN_SECRET`) verifies them: `--workers N`, or hosts behind a load balancer.
Without the variable each process signs with its own random secret. What a process counts per token (open
sessions, the promised first session id) it counts for itself: those limits hold per worker.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from itsdangerous import BadData, URLSafeSerializer

from ..protocol import ErrorCode, error_body
from .faults import Faults
from .session_schema import RequestError, default_session, merge_session, validate_session
from .value_rules import expect_enum, expect_int, expect_object, type_name

TOKEN_SECRET_ENV = 'VOICE_UI_TOKEN_SECRET'
MIN_SECRET_CHARS = 32
TOKEN_PREFIX = 'ek_'
# A signed token rides in the `Sec-WebSocket-Protocol` header (limits.max_subprotocol_header_bytes, 4 KiB):
# a configuration too large to sign within this gets an opaque token only the minting process knows.
MAX_SIGNED_TOKEN_CHARS = 3072
SIGNING_SALT = 'voice-ui.local-realtime.client-secret.v1'
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


def token_secret(environ: dict[str, str] | os._Environ = os.environ) -> str | None:
    """The shared signing secret from the environment, or None (a random one per process). Refused when set
    but too short to be a secret."""
    value = environ.get(TOKEN_SECRET_ENV)
    if value is None or value == '':
        return None
    if len(value.strip()) < MIN_SECRET_CHARS:
        raise ValueError(f'{TOKEN_SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters '
                         '(e.g. python -c "import secrets; print(secrets.token_urlsafe(32))")')
    return value.strip()


@dataclass
class TokenStore:
    api_keys: frozenset[str]
    clock: Callable[[], float]  # epoch seconds
    faults: Faults = field(default_factory=Faults)
    grants: dict[str, Grant] = field(default_factory=dict)  # tokens this process minted or has verified
    secret: str | None = None   # shared by every process that must accept these tokens; None: random
    signer: URLSafeSerializer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.signer = URLSafeSerializer(self.secret or secrets.token_urlsafe(32), salt=SIGNING_SALT,
                                        signer_kwargs={'digest_method': hashlib.sha256})

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
        grant = Grant(session, now + ttl, first_session_id=new_id('sess'))
        value = self.sign(grant, requested)
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
        grant = self.grants.get(secret) or self.verify(secret)
        if grant is None or grant.expires_at is None or grant.expires_at <= self.clock():
            return None
        return grant

    def sign(self, grant: Grant, requested: dict) -> str:
        """The token of a grant: signed (any process with the secret accepts it) when it fits the bound."""
        payload = {'e': grant.expires_at, 'i': grant.first_session_id, 'r': requested}
        value = TOKEN_PREFIX + self.signer.dumps(payload)
        return value if len(value) <= MAX_SIGNED_TOKEN_CHARS else new_id('ek')

    def verify(self, value: str) -> Grant | None:
        """A grant from a signed token minted by any process sharing the secret; None when it is not one, was
        altered, or has expired. Verified once: the grant is then kept (until it expires) and counted here."""
        if not value.startswith(TOKEN_PREFIX) or len(value) > MAX_SIGNED_TOKEN_CHARS:
            return None
        try:
            payload = self.signer.loads(value[len(TOKEN_PREFIX):])
            expires_at, session_id, requested = payload['e'], payload['i'], payload['r']
        except (BadData, TypeError, KeyError, ValueError):
            return None
        if TOKEN_PREFIX + self.signer.dumps(payload) != value:  # base64's spare bits: one spelling per token
            return None
        if not isinstance(expires_at, (int, float)) or expires_at <= self.clock() \
                or not isinstance(session_id, str) or not isinstance(requested, dict):
            return None
        try:
            model = requested.get('model') or default_session()['model']
            session = merge_session(default_session(model), validate_session(requested))
        except RequestError:
            return None
        self.prune()
        grant = self.grants[value] = Grant(session, float(expires_at), first_session_id=session_id)
        return grant

    def is_api_key(self, secret: str | None) -> bool:
        # As bytes: compare_digest refuses str with non-ASCII characters (a header of Latin-1 bytes was a 500).
        return secret is not None and any(secrets.compare_digest(as_bytes(secret), as_bytes(key))
                                          for key in self.api_keys)

    def prune(self) -> None:
        now = self.clock()
        for value in [value for value, grant in self.grants.items() if grant.expires_at <= now]:
            del self.grants[value]


def as_bytes(text: str) -> bytes:
    return text.encode('utf-8', 'surrogatepass')


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
