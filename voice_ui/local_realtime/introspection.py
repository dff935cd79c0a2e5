"""What each WebSocket session saw, for tests that run the app in another process (`GET /v1/_local/sessions`).

Never records a secret: the token subprotocol and the Authorization header are reduced to booleans, and
appended audio to its decoded byte length.
"""
from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import asdict, dataclass, field

from ..protocol import TOKEN_SUBPROTOCOL_PREFIX, ClientEvent

MAX_LOGS = 50  # a long-running dev server must not grow without bound


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

    @classmethod
    def start(cls, offered: list[str], authorization: str | None, model: str | None) -> SessionLog:
        return cls([p for p in offered if not p.startswith(TOKEN_SUBPROTOCOL_PREFIX)],
                   any(p.startswith(TOKEN_SUBPROTOCOL_PREFIX) for p in offered), bool(authorization), model)

    def client(self, message: str | bytes) -> None:
        received_at = time.monotonic()
        try:
            client_event = json.loads(message)
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.client_events.append({'type': None, 'raw_length': len(message), 'received_at': received_at})
            return
        if not isinstance(client_event, dict):
            self.client_events.append({'type': None, 'raw_length': len(message), 'received_at': received_at})
            return
        if client_event.get('type') == ClientEvent.INPUT_AUDIO_APPEND and isinstance(client_event.get('audio'), str):
            audio = client_event.pop('audio')
            try:
                client_event['audio_bytes'] = len(base64.b64decode(audio, validate=True))
            except (binascii.Error, ValueError):
                client_event['audio_bytes'] = None
        self.client_events.append({**client_event, 'received_at': received_at})

    def server(self, event_type: str) -> None:
        self.server_events.append(event_type)

    def to_dict(self) -> dict:
        return asdict(self)


class SessionLogs:
    def __init__(self) -> None:
        self.logs: list[SessionLog] = []

    def add(self, log: SessionLog) -> SessionLog:
        self.logs.append(log)
        del self.logs[:-MAX_LOGS]
        return log

    def to_list(self) -> list[dict]:
        return [log.to_dict() for log in self.logs]

    def clear(self) -> None:
        self.logs.clear()
