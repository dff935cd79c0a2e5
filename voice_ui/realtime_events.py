"""The typed arguments of the Realtime element's events (`RealtimeSession.on_*`), like NiceGUI's own
`*EventArguments`, and the bounded readers that build them from the browser's untrusted payloads."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nicegui.events import UiEventArguments

from .input_devices import MAX_DEVICES, InputDevice, devices_from  # noqa: F401  (re-exported)
from .latency import TurnLatency
from .protocol import ErrorSource, NoticeKind, Role, Status, TokenReason
from .unicode_text import sendable


@dataclass(kw_only=True, slots=True)
class StatusEventArguments(UiEventArguments):
    status: Status
    turn: int  # the component's turn counter (0 before the first turn)


@dataclass(kw_only=True, slots=True)
class ServerEventArguments(UiEventArguments):
    event: dict  # a Realtime server event of protocol.FORWARDED_SERVER_EVENTS, checked and without audio


@dataclass(kw_only=True, slots=True)
class TranscriptEventArguments(UiEventArguments):
    item_id: str
    role: Role
    delta: str       # text to append (or the full text when `replace`)
    replace: bool    # a done event's full transcript
    final: bool      # the item's transcript is complete


@dataclass(kw_only=True, slots=True)
class ErrorEventArguments(UiEventArguments):
    source: ErrorSource
    code: str        # server error code, WebSocket close code, DOMException name, ...
    message: str


@dataclass(kw_only=True, slots=True)
class NoticeEventArguments(UiEventArguments):
    kind: NoticeKind
    message: str


@dataclass(kw_only=True, slots=True)
class TokenWantedEventArguments(UiEventArguments):
    reason: TokenReason


@dataclass(kw_only=True, slots=True)
class DevicesEventArguments(UiEventArguments):
    devices: list[InputDevice]  # the audio inputs the browser lists, the system default first
    selected: str               # the device in use (or to be used at the next Start)


@dataclass(kw_only=True, slots=True)
class LatencyEventArguments(UiEventArguments):
    turn: int
    item_id: str | None       # the reply's item (its card), if the reply had one
    response_id: str | None
    latency: TurnLatency      # ms after the end of speech, per stage (None: the stage never happened)


def _enum(kind: type, value: Any, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default


MAX_RECORD_AUDIO_SECONDS = 3 * 3600  # the browser holds it all in memory: about 1 GB of stereo PCM at most


def _record_seconds(value: float) -> float:
    """The audio download's cap, within what the browser can hold; not a number (or <= 0) records nothing."""
    seconds = float(value)
    return min(seconds, MAX_RECORD_AUDIO_SECONDS) if not math.isnan(seconds) and seconds > 0 else 0.0


def _str(value: Any, limit: int = 100_000) -> str:
    return sendable(value[:limit]) if isinstance(value, str) else ''


def _code(value: Any) -> str:
    """An error's code: a string, or a WebSocket close code (an int a browser can send; not a bool, not a huge one)."""
    if isinstance(value, int) and not isinstance(value, bool) and -10**9 < value < 10**9:
        return str(value)
    return sendable(value[:256]) if isinstance(value, str) else ''
