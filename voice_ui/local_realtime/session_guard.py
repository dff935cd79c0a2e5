"""The engine's safety net: a handler that fails unexpectedly costs the client one `server_error` event, not
the session, and leaves the session as it was before that event.

`Snapshot` keeps what a handler can change cheaply (the engine's own fields, the conversation's order, the
input buffer's counters, where the queue stood) and puts it back when the handler raised: actions the handler
queued are taken out again. It costs O(items) per event, not O(queue): appends arrive 25 times a second.
"""
from __future__ import annotations

import heapq
import logging
from typing import TYPE_CHECKING

from ..protocol import CLOSE_SESSION_EXPIRED, ErrorCode
from .actions import Action, Close, Send
from .events import error_event

if TYPE_CHECKING:
    from .engine import RealtimeEngine

log = logging.getLogger(__name__)
SERVER_ERROR = {'type': 'server_error', 'code': ErrorCode.SERVER_ERROR.value, 'param': None,
                'message': 'The server had an error while processing your request. The session is unchanged.'}


class Snapshot:
    def __init__(self, engine: RealtimeEngine) -> None:
        self.fields = dict(vars(engine))
        self.items = list(engine.conversation.items)
        self.seq = next(engine.outbox._seq)  # entries queued from here on have a larger sequence number
        self.queued_bytes = engine.outbox.queued_bytes
        audio = engine.audio
        self.audio = (len(audio.buffer), audio.buffer_start_ms, audio.total_bytes, audio.turn_start_ms)

    def restore(self, engine: RealtimeEngine) -> None:
        vars(engine).clear()
        vars(engine).update(self.fields)
        engine.conversation.items[:] = self.items
        heap = engine.outbox._heap
        heap[:] = [entry for entry in heap if entry.seq < self.seq]
        heapq.heapify(heap)
        engine.outbox.queued_bytes = self.queued_bytes
        audio = engine.audio
        length, audio.buffer_start_ms, audio.total_bytes, audio.turn_start_ms = self.audio
        del audio.buffer[length:]  # audio appended by the failed event


def failed(what: str, client_event_id: str | None = None) -> dict:
    """The `error` event for an unexpected failure (logged with its traceback for the server's owner)."""
    log.exception('embedded realtime server: %s failed', what)
    return error_event(dict(SERVER_ERROR), client_event_id)


def session_expired(limit_s: float) -> list[Action]:
    """A plain function, not an engine method, so the outbox never holds the engine itself (no cycle)."""
    error = {'type': 'invalid_request_error', 'code': ErrorCode.SESSION_EXPIRED.value,
             'message': f'Your session hit the maximum duration of {limit_s:g} seconds.'}
    return [Send(error_event(error, None)), Close(CLOSE_SESSION_EXPIRED, 'session expired')]
