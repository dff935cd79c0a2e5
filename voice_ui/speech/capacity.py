"""How many speech sessions this server can serve at once without making every one of them slow.

Recognition and synthesis are CPU bound and run one decode at a time, so each extra concurrent session adds
its turns' decode time to everyone's latency. The server admits up to a fixed number of speech sessions and
refuses the next with a clear error instead:
- VOICE_UI_SPEECH_MAX_SESSIONS: the number, outright; else
- VOICE_UI_SPEECH_SESSIONS_PER_CORE (default 2) times the CPUs this process may use.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

MAX_SESSIONS_ENV = 'VOICE_UI_SPEECH_MAX_SESSIONS'
PER_CORE_ENV = 'VOICE_UI_SPEECH_SESSIONS_PER_CORE'
DEFAULT_PER_CORE = 2.0


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def capacity_from_env(environ: Mapping[str, str] | None = None) -> int:
    """The speech session limit; bad values fall back to the default rather than to no limit."""
    env = os.environ if environ is None else environ
    explicit = _number(env.get(MAX_SESSIONS_ENV))
    if explicit is not None:
        return max(1, int(explicit))
    per_core = _number(env.get(PER_CORE_ENV))
    return max(1, int((per_core if per_core is not None else DEFAULT_PER_CORE) * usable_cores()))


def _number(value: str | None) -> float | None:
    try:
        number = float((value or '').strip())
    except ValueError:
        return None
    return number if 0 < number < 1e6 else None


class SpeechSeats:
    """Counts open speech sessions against the limit (one event loop: no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.taken = limit, 0

    def take(self) -> str | None:
        """None when a seat was taken (release it with `release`), else the refusal for the client."""
        if self.taken >= self.limit:
            return (f'This server is at its offline speech capacity ({self.limit} concurrent speech sessions; '
                    f'set {MAX_SESSIONS_ENV} or {PER_CORE_ENV} to change it). Try again later.')
        self.taken += 1
        return None

    def release(self) -> None:
        self.taken = max(0, self.taken - 1)
