"""Per-turn latency as the browser measured it, and the session's summary: plain arithmetic, no NiceGUI.

Each stage is milliseconds after the end of speech (Stop, or the server VAD's `speech_stopped`): the commit
acknowledged, the first user transcript, the first reply audio heard (the player started it), the reply done.
A stage that never happened (no transcription configured, a text-only reply) is `None`. The figures come from
the browser, so they are untrusted: anything that is not a plausible non-negative number is dropped.
"""
from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

MAX_MS = 3_600_000  # an hour: a larger figure is no measurement of a turn
STAGES = (('commit_ms', 'commit'), ('transcript_ms', 'transcript'), ('audio_ms', 'first audio'), ('done_ms', 'done'))


def _ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_MS:
        return None  # the range test first: an int too large for a float made math.isfinite raise
    return round(value)  # NaN failed the range test; inf too


@dataclass(frozen=True, slots=True)
class TurnLatency:
    commit_ms: int | None = None
    transcript_ms: int | None = None
    audio_ms: int | None = None
    done_ms: int | None = None

    @classmethod
    def from_event(cls, args: Any) -> TurnLatency | None:
        """From the component's `latency` event; None if it carries no figure at all."""
        args = args if isinstance(args, dict) else {}
        latency = cls(**{name: _ms(args.get(name)) for name, _ in STAGES})
        return latency if any(value is not None for value in latency.as_dict().values()) else None

    def as_dict(self) -> dict[str, int | None]:
        return asdict(self)

    def label(self) -> str:
        """e.g. 'commit 120 ms · transcript 340 ms · first audio 610 ms · done 2400 ms'."""
        return ' · '.join(f'{title} {value} ms' for name, title in STAGES
                          if (value := getattr(self, name)) is not None)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (like numpy's default) of the values; None for none."""
    return sorted_percentile(sorted(values), fraction) if values else None


def sorted_percentile(ordered: Sequence[float], fraction: float) -> float:
    position = (len(ordered) - 1) * min(max(fraction, 0.0), 1.0)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class StageSummary:
    count: int
    median_ms: float
    p90_ms: float


def summarize(latencies: Iterable[TurnLatency]) -> dict[str, StageSummary]:
    """Median and p90 of each stage over the turns that have it; a stage no turn has is left out."""
    latencies = list(latencies)
    summary = {}
    for name, _ in STAGES:
        values = [value for latency in latencies if (value := getattr(latency, name)) is not None]
        if values:
            summary[name] = StageSummary(len(values), percentile(values, 0.5), percentile(values, 0.9))
    return summary


def summary_text(latencies: Iterable[TurnLatency]) -> str:
    """The page's one-line summary, e.g. 'Latency over 3 turns — first audio: median 610 ms, p90 900 ms · …'."""
    latencies = list(latencies)
    return text_of(summarize(latencies), len(latencies))


def text_of(summary: dict[str, StageSummary], turns: int) -> str:
    if not summary:
        return ''
    parts = [f'{title}: median {summary[name].median_ms:.0f} ms, p90 {summary[name].p90_ms:.0f} ms'
             for name, title in STAGES if name in summary]
    return f'Latency over {turns} turn' + ('s' if turns != 1 else '') + ' — ' + ' · '.join(parts)


class LatencyWindow:
    """The newest `maxlen` turns' figures, each stage's values also kept sorted: a new figure costs a bisection,
    not a sort of all of them (a page can send thousands per socket message; the event loop serves every page)."""

    def __init__(self, maxlen: int) -> None:
        self.maxlen = maxlen
        self._turns: deque[TurnLatency] = deque()
        self._sorted: dict[str, list[int]] = {name: [] for name, _ in STAGES}

    def __len__(self) -> int:
        return len(self._turns)

    def __iter__(self) -> Iterator[TurnLatency]:
        return iter(self._turns)

    def append(self, latency: TurnLatency) -> None:
        if len(self._turns) >= self.maxlen:
            oldest = self._turns.popleft()
            for name, values in self._sorted.items():
                if (value := getattr(oldest, name)) is not None:
                    del values[bisect.bisect_left(values, value)]
        self._turns.append(latency)
        for name, values in self._sorted.items():
            if (value := getattr(latency, name)) is not None:
                bisect.insort(values, value)

    def clear(self) -> None:
        self._turns.clear()
        for values in self._sorted.values():
            values.clear()

    def summary(self) -> dict[str, StageSummary]:
        """What `summarize` says of these turns."""
        return {name: StageSummary(len(values), sorted_percentile(values, 0.5), sorted_percentile(values, 0.9))
                for name, values in self._sorted.items() if values}

    def summary_text(self) -> str:
        return text_of(self.summary(), len(self._turns))
