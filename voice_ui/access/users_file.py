"""The users file: one `name:scrypt$N$r$p$salt$hash` line per person (`#` comments and blank lines allowed).

Hashes are the standard library's scrypt; checks are constant-time, and an unknown name costs the same scrypt
as a wrong password, so timing does not tell which names exist.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}')
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1  # ~32 MiB and some tens of ms per check: costly to guess offline
MAX_MEMORY = 256 * 1024 * 1024  # a hand-edited line must not make one check take gigabytes
HASH_BYTES = 32
MAX_FILE_BYTES = 1024 * 1024


class UsersFileError(ValueError):
    """A users file that cannot be used; the message names the line (never its hash)."""


@dataclass(frozen=True)
class PasswordHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def __repr__(self) -> str:  # a hash is a secret too: never in logs or tracebacks
        return f'PasswordHash(n={self.n}, r={self.r}, p={self.p})'

    def encode(self) -> str:
        b64 = base64.b64encode
        return f'scrypt${self.n}${self.r}${self.p}${b64(self.salt).decode()}${b64(self.digest).decode()}'

    def matches(self, password: str) -> bool:
        candidate = scrypt(password, self.salt, self.n, self.r, self.p, len(self.digest))
        return hmac.compare_digest(candidate, self.digest)


def scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode('utf-8'), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=MAX_MEMORY + 1024)


def hash_password(password: str) -> PasswordHash:
    salt = secrets.token_bytes(16)
    return PasswordHash(SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P,
                                                                     HASH_BYTES))


def parse_hash(text: str) -> PasswordHash:
    """`scrypt$N$r$p$salt$hash` (salt and hash in base64); raises ValueError saying what is wrong, not the text."""
    parts = text.split('$')
    if len(parts) != 6 or parts[0] != 'scrypt':
        raise ValueError('the hash is not of the form scrypt$N$r$p$salt$hash')
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except ValueError as exc:
        raise ValueError('the hash has a non-numeric parameter or invalid base64') from exc
    if n < 2 ** 10 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or 128 * n * r * p > MAX_MEMORY:
        raise ValueError('the scrypt parameters are out of range (N a power of two ≥ 1024, r 1..32, p 1..16, '
                         'at most 256 MiB)')
    if len(salt) < 8 or not 16 <= len(digest) <= 64:
        raise ValueError('the salt or hash has an unexpected length')
    return PasswordHash(n, r, p, salt, digest)


def parse_users(text: str, source: str = 'users file') -> dict[str, PasswordHash]:
    users: dict[str, PasswordHash] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        name, colon, encoded = line.partition(':')
        where = f'{source} line {number}'
        if not colon:
            raise UsersFileError(f'{where}: expected name:scrypt-hash')
        if not NAME.fullmatch(name):
            raise UsersFileError(f'{where}: the name must be 1-64 letters, digits or ._@+- (starting with a '
                                 'letter or digit)')
        if name in users:
            raise UsersFileError(f'{where}: {name} appears twice')
        try:
            users[name] = parse_hash(encoded.strip())
        except ValueError as exc:
            raise UsersFileError(f'{where}: {exc}') from None
    return users


def load_users(path: Path) -> dict[str, PasswordHash]:
    name = path.name if len(path.name) <= 80 else path.name[:80] + '…'  # messages stay short
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UsersFileError(f'{name}: larger than {MAX_FILE_BYTES // 1024} KiB')
        text = path.read_text(encoding='utf-8-sig')  # a byte-order mark (Windows Notepad) is no part of line 1
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f'cannot read the users file {name}: {type(exc).__name__}') from None
    users = parse_users(text, name)
    if not users:
        raise UsersFileError(f'{name} has no users: add one with `python -m voice_ui.users add NAME`')
    return users


class PasswordBook:
    """Who may sign in: a users file (names) or one shared password (no name)."""

    def __init__(self, users: dict[str, PasswordHash] | None = None, shared: PasswordHash | None = None) -> None:
        self.users, self.shared = users or {}, shared
        self._decoy = hash_password(secrets.token_urlsafe(16))  # what an unknown name is checked against

    @property
    def needs_name(self) -> bool:
        return self.shared is None

    def check(self, name: str, password: str) -> str | None:
        """The signed-in name (`''` for the shared password) if the password is right, else None. Blocking."""
        if self.shared is not None:
            return '' if self.shared.matches(password) else None
        stored = self.users.get(name)
        ok = (stored or self._decoy).matches(password)  # the same work whether or not the name exists
        return name if ok and stored is not None else None
