"""What the sans-I/O engine asks of its transport, and the time-ordered outbox it keeps them in.

The engine never sleeps, sends or awaits: it queues `Send`/`Close` actions with a due time and emits
`Transcribe`/`Respond` work requests; the transport polls due actions, runs the work and feeds results back.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from ..protocol import BYTES_PER_MS
from .server_agent import NO_TOOLS, Message, ToolOffer


@dataclass(frozen=True)
class Send:
    event: dict


@dataclass(frozen=True)
class Close:
    code: int
    reason: str = ''
    abort: bool = False  # drop the TCP connection without a close frame (fault injection)


@dataclass(frozen=True)
class Transcribe:
    """Work: turn a committed user item's audio into text, then call `engine.transcription_ready`."""
    item_id: str
    audio: bytes
    language: str | None
    prompt: str | None


@dataclass(frozen=True)
class Respond:
    """Work: ask the agent for a reply, then call `engine.reply_ready`."""
    response_id: str
    history: list[Message]
    audio: bytes
    instructions: str | None = None  # the session's (or this response's) instructions, for a thinking agent
    tools: ToolOffer = NO_TOOLS      # the function tools this response may (or must) call


Action = Send | Close | Transcribe | Respond


Make = Callable[[], list[Action]]


@dataclass(order=True)
class Entry:
    due: float
    seq: int
    make: Make = field(compare=False)  # builds the actions at release time, so they can reflect what was sent
    tag: str | None = field(default=None, compare=False)  # e.g. a response id, so its pending deltas can be dropped


class Outbox:
    """Actions ordered by (due time, insertion order): equal times keep the order they were queued in."""

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._seq = itertools.count()

    def push(self, make: Make, due: float, tag: str | None = None) -> None:
        heapq.heappush(self._heap, Entry(due, next(self._seq), make, tag))

    def push_event(self, event: dict, due: float, tag: str | None = None) -> None:
        self.push(lambda: [Send(event)], due, tag)

    def drop(self, tag: str) -> None:
        self._heap = [entry for entry in self._heap if entry.tag != tag]
        heapq.heapify(self._heap)

    def pop_one(self, now: float) -> Entry | None:
        return heapq.heappop(self._heap) if self._heap and self._heap[0].due <= now else None

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)


def audio_ms(audio: bytes | int) -> int:
    size = audio if isinstance(audio, int) else len(audio)
    return size // BYTES_PER_MS
