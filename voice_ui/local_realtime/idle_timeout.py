"""server_vad's `idle_timeout_ms`: when nobody speaks for that long after the model's last reply (its playback
included), the service sends `input_audio_buffer.timeout_triggered`, commits the (silent) buffer as a user
turn and answers it, so an agent can ask "are you still there?".

The timer is armed when the session falls idle (a response ended, a turn ended without one, turn detection
changed) and disarmed by speech or a new response. It lives in the engine's outbox under its own tag.
"""
from __future__ import annotations

from collections.abc import Callable

from .actions import Action, Outbox

IDLE_TAG = 'idle-timeout'


class IdleTimer:
    """At most one pending timeout in the outbox. It keeps no callback itself: the one queued entry does, so
    closing the session (which empties the outbox) leaves no cycle back to the engine."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def arm(self, due: float, fire: Callable[[], list[Action]]) -> None:
        self.disarm()
        self.outbox.push(fire, due, IDLE_TAG)

    def disarm(self) -> None:
        self.outbox.drop(IDLE_TAG)  # unconditional: an engine restored after a failed event may hold one


def idle_timeout_ms(turn_detection: dict | None) -> int | None:
    """The configured timeout; only server_vad has one."""
    turn = turn_detection or {}
    value = turn.get('idle_timeout_ms') if turn.get('type') == 'server_vad' else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
