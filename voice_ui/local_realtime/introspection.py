"""What each WebSocket session saw, for tests that run the app in another process (`GET /v1/_local/sessions`).

Only kept when the fault endpoints are on (`--allow-faults`), and bounded: so many sessions, so many events per
session (later ones are only counted), large events reduced to their type and size. Never records a secret:
the token subprotocol and the Authorization header are reduced to booleans, appended audio to its byte length.
Events are logged as the engine validated them: nothing is parsed or decoded twice.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass, field

from ..protocol import TOKEN_SUBPROTOCOL_PREFIX, ClientEvent
from .limits import ServerLimits


@dataclass
class SessionLog:
    subprotocols: list[str]                # offered, minus the token one
    token_subprotocol_present: bool
    authorization_header_present: bool
    model: str | None
    opened_at: float = field(default_factory=time.monotonic)
    session_id: str | None = None
    accepted_subprotocol: str | None = None
    outcome: str = 'open'                  # open, closed, rejected: <code>, dropped (fault)
    close_code: int | None = None
    client_events: list[dict] = field(default_factory=list)
    server_events: list[str] = field(default_factory=list)
    client_events_dropped: int = 0         # past the per-session limit: counted, not kept
    server_events_dropped: int = 0
    max_events: int = field(default=20_000, repr=False)
    max_event_bytes: int = field(default=4096, repr=False)

    @classmethod
    def start(cls, offered: list[str], authorization: str | None, model: str | None,
              limits: ServerLimits | None = None) -> SessionLog:
        limits = limits or ServerLimits()
        return cls([p[:200] for p in offered if not p.startswith(TOKEN_SUBPROTOCOL_PREFIX)][:16],
                   any(p.startswith(TOKEN_SUBPROTOCOL_PREFIX) for p in offered), bool(authorization),
                   model[:200] if model else model, max_events=limits.session_log_events,
                   max_event_bytes=limits.session_log_event_bytes)

    def client(self, client_event: dict | None, raw_length: int) -> None:
        """A validated client event, or None for one that was refused before it was understood."""
        if len(self.client_events) >= self.max_events:
            self.client_events_dropped += 1
            return
        entry: dict = {'type': None, 'raw_length': raw_length}
        if client_event is not None and client_event.get('type') == ClientEvent.INPUT_AUDIO_APPEND:
            entry = {key: value for key, value in client_event.items() if key != 'audio'}
            entry['audio_bytes'] = len(client_event['audio'])
        elif client_event is not None and raw_length <= self.max_event_bytes:
            entry = dict(client_event)
        elif client_event is not None:
            entry = {'type': client_event['type'], 'event_id': client_event.get('event_id'), 'raw_length': raw_length}
        entry['received_at'] = time.monotonic()
        self.client_events.append(entry)

    def server(self, event_type: str) -> None:
        if len(self.server_events) >= self.max_events:
            self.server_events_dropped += 1
        else:
            self.server_events.append(event_type)

    def to_dict(self) -> dict:
        values = asdict(self)
        del values['max_events'], values['max_event_bytes']
        return values


class SessionLogs:
    """The most recent sessions' logs; `enabled=False` (no fault endpoints) keeps nothing at all."""

    def __init__(self, limits: ServerLimits | None = None, enabled: bool = True) -> None:
        self.limits = limits or ServerLimits()
        self.enabled = enabled
        self.logs: deque[SessionLog] = deque(maxlen=self.limits.session_log_sessions)

    def start(self, offered: list[str], authorization: str | None, model: str | None) -> SessionLog:
        log = SessionLog.start(offered, authorization, model, self.limits)
        if self.enabled:
            self.logs.append(log)
        else:
            log.max_events = 0  # still answers the transport, records nothing
        return log

    def add(self, log: SessionLog) -> SessionLog:
        if self.enabled:
            self.logs.append(log)
        return log

    def to_list(self) -> list[dict]:
        return [log.to_dict() for log in self.logs]

    def clear(self) -> None:
        self.logs.clear()
