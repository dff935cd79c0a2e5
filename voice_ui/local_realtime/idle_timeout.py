"""server_vad's `idle_timeout_ms`: when nobody speaks for that long after the model's last reply (its playback
included), the service sends `input_audio_buffer.timeout_triggered`, commits the (silent) buffer as a user
turn and answers it, so an agent can ask "are you still there?".

The timer is armed when the session falls idle (a response ended, a turn ended without one, turn detection
changed) and disarmed by speech or a new response. It lives in the engine's outbox under its own tag.
"""
from __future__ import annotations

from collections.abc import Callable

from ..protocol import ServerEvent
from .actions import Action, Outbox, Send
from .events import error_event, event
from .session_schema import RequestError

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


class IdleTimeouts:
    """The engine's side of the timeout (a mixin of `RealtimeEngine`: it uses its audio, outbox and responses)."""

    def rearm_idle(self, now: float, playback_s: float = 0.0) -> None:
        timeout_ms = idle_timeout_ms(self.turn_detection)
        self.idle.disarm()
        if timeout_ms and self.active is None and not self.user_speaking:  # speech stopping re-arms it
            armed_at_ms = self.audio.total_ms
            self.idle.arm(now + playback_s + timeout_ms / 1000, lambda: self.on_idle_timeout(armed_at_ms, timeout_ms))

    @property
    def user_speaking(self) -> bool:
        return self.audio.vad is not None and self.audio.vad.speaking

    def on_idle_timeout(self, started_ms: int, timeout_ms: int) -> list[Action]:
        """Nobody spoke for `idle_timeout_ms`: say so, commit what the buffer holds, and answer it."""
        if self.active is not None or self.closed or self.user_speaking:
            return []
        end_ms = self.audio.total_ms
        start_ms = max(started_ms, end_ms - timeout_ms, self.audio.buffer_start_ms)
        actions: list[Action] = [Send(event(ServerEvent.TIMEOUT_TRIGGERED, audio_start_ms=start_ms,
                                            audio_end_ms=end_ms, item_id=self.next_user_item_id))]
        self.commit(self.audio.take_all(), self.now)
        if (self.turn_detection or {}).get('create_response', True):
            try:
                self.create_response({}, self.now)
            except RequestError as error:  # a session minted with tools that do not resolve
                actions.append(Send(error_event(error.fields(), None)))
        return actions
