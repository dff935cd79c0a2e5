"""Misbehaviour on demand, so tests can prove the client copes with a flaky service.

One `Faults` object is shared by the mint route and every open session and is read live, so a fault set
through `POST /v1/_local/faults` also hits sessions that are already open. Counters (`*_times`) are global.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, fields

from ..protocol import ErrorCode

ALLOW_FAULTS_ENV = 'VOICE_UI_ALLOW_FAULTS'
INJECTED_ERROR = {'type': 'server_error', 'code': ErrorCode.SERVER_ERROR.value,
                  'message': 'Injected fault from the embedded server.'}


@dataclass
class Faults:
    reply_delay_ms: int = 0                  # extra latency before a response's first delta
    delta_jitter_ms: int = 0                 # each delta waits a random 0..jitter ms more (order is kept)
    drop_after_audio_deltas: int | None = None  # cut the TCP connection (no close frame) after N audio deltas
    error_on: str | None = None              # client event type answered by an `error` instead of being handled
    error: dict = field(default_factory=lambda: dict(INJECTED_ERROR))  # `type`, `code`, `message`, `param`
    error_times: int | None = 1              # how many such errors; None = every time
    mint_status: int | None = None           # 429 or 500: make `POST /realtime/client_secrets` fail
    mint_times: int | None = None            # how many failing mints; None = every time
    seed: int | None = None                  # for reproducible jitter

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def from_dict(cls, values: dict) -> Faults:
        """Strict: an unknown field is a typo in a test, so it raises `ValueError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f'unknown fault fields: {unknown}')
        faults = cls(**values)
        for name in ('reply_delay_ms', 'delta_jitter_ms', 'drop_after_audio_deltas', 'error_times', 'mint_times',
                     'seed'):
            value = getattr(faults, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f'{name} must be a non-negative integer' + (' or null' if name not in (
                    'reply_delay_ms', 'delta_jitter_ms') else ''))
        if faults.reply_delay_ms is None or faults.delta_jitter_ms is None:
            raise ValueError('reply_delay_ms and delta_jitter_ms must be integers')
        if faults.error_on is not None and not isinstance(faults.error_on, str):
            raise ValueError('error_on must be a client event type or null')
        if not isinstance(faults.error, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in faults.error.items()):
            raise ValueError('error must be an object of strings (type, code, message, param)')
        if faults.mint_status not in (None, 429, 500) or isinstance(faults.mint_status, bool):
            raise ValueError('mint_status must be 429, 500 or null')
        return faults

    def to_dict(self) -> dict:
        return asdict(self)

    def replace_with(self, other: Faults) -> None:
        """Update in place: sessions hold a reference to this object."""
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))
        self._rng = random.Random(self.seed)

    def jitter_s(self) -> float:
        return self._rng.uniform(0, self.delta_jitter_ms) / 1000 if self.delta_jitter_ms > 0 else 0.0

    def take_error(self, client_event_type: object) -> dict | None:
        """The error to answer this client event with, consuming one from `error_times`."""
        if self.error_on is None or self.error_on != client_event_type or self.error_times == 0:
            return None
        if self.error_times is not None:
            self.error_times -= 1
        return {'type': 'server_error', 'code': None, 'message': 'Injected fault.', 'param': None, **self.error}

    def take_mint_failure(self) -> int | None:
        if self.mint_status is None or self.mint_times == 0:
            return None
        if self.mint_times is not None:
            self.mint_times -= 1
        return self.mint_status
