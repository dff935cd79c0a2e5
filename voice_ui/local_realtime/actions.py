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
    weight: int = field(default=0, compare=False)  # about how many bytes it holds (events pushed whole)


class Outbox:
    """Actions ordered by (due time, insertion order): equal times keep the order they were queued in.

    `queued_bytes` estimates what the queued events hold, so the transport can stop reading a client whose
    events queue more than it reads: one `conversation.item.retrieve` of 60 bytes queues megabytes of audio."""

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._seq = itertools.count()
        self.queued_bytes = 0

    def push(self, make: Make, due: float, tag: str | None = None, weight: int = 0) -> None:
        heapq.heappush(self._heap, Entry(due, next(self._seq), make, tag, weight))
        self.queued_bytes += weight

    def push_event(self, event: dict, due: float, tag: str | None = None) -> None:
        self.push(lambda: [Send(event)], due, tag, payload_size(event))

    def drop(self, tag: str) -> None:
        self._heap = [entry for entry in self._heap if entry.tag != tag]
        heapq.heapify(self._heap)
        self.queued_bytes = sum(entry.weight for entry in self._heap)

    def pop_one(self, now: float) -> Entry | None:
        if not self._heap or self._heap[0].due > now:
            return None
        entry = heapq.heappop(self._heap)
        self.queued_bytes -= entry.weight
        return entry

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)


def payload_size(value: object) -> int:
    """The characters of an event's strings plus a little per value: cheap (events are small trees), and what
    makes an event large (audio, text, a session's instructions) is always a string."""
    size, stack = 0, [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            size += len(node)
        elif isinstance(node, dict):
            size += 16 * len(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            size += 8 * len(node)
            stack.extend(node)
    return size


def audio_ms(audio: bytes | int) -> int:
    size = audio if isinstance(audio, int) else len(audio)
    return size // BYTES_PER_MS
