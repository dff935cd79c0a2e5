"""`semantic_vad` with an end-of-turn model: a short pause asks the model; a finished thought ends the turn then.

The voice detector (energy or neural, `inner`) runs with a short pause, `SHORT_PAUSE_MS`. When it hears one,
this detector does not end the turn: it hands the turn's audio to a worker (`ScoreTurn`, end_of_turn.py) and
keeps listening. Then, on the session's audio timeline, like pipecat's smart-turn analyzer and LiveKit's turn
detector:
- the model says complete (> 0.5) and the user is still silent: the turn ends at once (`stopped` where the
  audio heard so far ends), ~250 ms of pause plus ~130 ms of inference after the last word;
- it says incomplete (or fails): the turn ends only after the long pause that `eagerness` sets (`MODEL_WAIT_MS`,
  counted from the start of the pause), so a user who stops to think is not cut off;
- speech resumes first: the pause, and any judgement of it still to come, count for nothing.

Why 250 ms: pauses inside a sentence (stop closures, a breath between phrases) are mostly shorter, so the model
is asked about real pauses, not every gap between words; and pause + inference (~400 ms) is close to the
200-500 ms gap people leave between turns. pipecat recommends 200 ms with its smart-turn analyzer.

Why 1 / 2 / 4 s for high / medium (auto) / low: the service documents its maximum waits as 2 / 4 / 8 s; this
model is smaller than the service's and misjudges some finished turns as unfinished (mostly short ones), and
that user waits the long pause, so half the service's bound keeps a misjudged turn from feeling stuck while
a thinking user still gets 1-4 s. pipecat's own fallback is 3 s.

Same interface as the detectors it wraps (`feed`, `reset`, `speaking`, `position_ms`, `backlog_bytes`) plus
the worker protocol (`take_work`, `scored`, `job_failed`), which also passes the neural detector's own jobs on.
Memory: the last `WINDOW_S` seconds of audio (plus what the neural detector has yet to score), ~384 KB.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import BYTES_PER_MS
from .end_of_turn import COMPLETE_ABOVE, WINDOW_S, ScoreTurn
from .vad import EnergyVad, VadEvent

if TYPE_CHECKING:
    from .neural_vad import NeuralVad

SHORT_PAUSE_MS = 250
MODEL_WAIT_MS = {'high': 1000, 'medium': 2000, 'auto': 2000, 'low': 4000}
WINDOW_MS = WINDOW_S * 1000


class SemanticTurns:
    kind = 'semantic'

    def __init__(self, inner: EnergyVad | NeuralVad, long_pause_ms: int, origin_ms: int = 0) -> None:
        self.inner = inner  # configured with silence_duration_ms = SHORT_PAUSE_MS
        self.long_pause_ms = max(int(long_pause_ms), int(inner.silence_duration_ms))
        self.prefix_padding_ms = inner.prefix_padding_ms
        self.silence_duration_ms = self.long_pause_ms  # the longest a pause can last before the turn ends
        self.running: ScoreTurn | None = None  # the judgement a worker has, void or not: one at a time, so a
        # session never has two inferences on the 2 cores (kept across resets: the worker is still busy)
        self.reset(origin_ms)

    def reset(self, origin_ms: int) -> None:
        """Forget any turn in progress (after a manual commit or clear); a judgement still out is void."""
        self.inner.reset(origin_ms)
        self.recent = bytearray()            # the latest audio fed, from `recent_start_ms` on
        self.recent_start_ms = origin_ms
        self.turn_start_ms: int | None = None
        self.pause_end_ms: int | None = None  # in a pause being judged: where the long pause would end it
        self.ready: ScoreTurn | None = None      # a judgement to hand to a worker
        self.in_flight: ScoreTurn | None = None  # the judgement whose verdict still counts

    @property
    def speaking(self) -> bool:
        """A turn is in progress: speech, or a pause that has not ended it yet."""
        return self.inner.speaking or self.pause_end_ms is not None

    @property
    def position_ms(self) -> int:
        return self.inner.position_ms

    @property
    def backlog_bytes(self) -> int:
        return getattr(self.inner, 'backlog_bytes', 0)

    def feed(self, pcm: bytes) -> list[VadEvent]:
        self._remember(pcm)
        return self._judge(self.inner.feed(pcm))

    def take_work(self):
        """A turn to judge, else the neural detector's own scoring work (one of each at most is ever out)."""
        if self.ready is not None and self.running is None:
            self.running = self.in_flight = self.ready
            self.ready = None
            return self.in_flight
        take_work = getattr(self.inner, 'take_work', None)
        return take_work() if take_work else None

    def scored(self, job, result) -> list[VadEvent]:
        """A worker's result: the model's probability for a `ScoreTurn`, else the neural detector's scores."""
        if not isinstance(job, ScoreTurn):
            scored = getattr(self.inner, 'scored', None)
            return self._judge(scored(job, result)) if scored else []
        if job is self.running:
            self.running = None  # the worker is free: a judgement waiting for it goes out now (ask_for_scoring)
        if job is not self.in_flight:
            return []  # speech resumed, the long pause ended the turn, or a reset: this judgement is late
        self.in_flight = None
        if complete(result) and self.pause_end_ms is not None and not self.inner.speaking:
            return [self._end(min(self.inner.position_ms, self.pause_end_ms))]
        return []  # unfinished: the long pause decides

    def job_failed(self, job, origin_ms: int) -> None:
        """The worker raised: a failed judgement leaves the long pause to decide; a failed voice scoring
        restarts detection at `origin_ms` (its audio stays buffered, unscored), as without this detector."""
        if isinstance(job, ScoreTurn):
            self.running = None if job is self.running else self.running
            self.in_flight = None if job is self.in_flight else self.in_flight
        elif getattr(self.inner, 'in_flight', None) is job:
            self.reset(origin_ms)

    def _judge(self, changes: list[VadEvent]) -> list[VadEvent]:
        """The inner detector's changes, seen through the pause rule (module docstring)."""
        events = []
        for change in changes:
            if change.kind == 'stopped':  # a short pause: ask the model, keep the turn open
                if self.turn_start_ms is None:
                    continue  # a stop of no turn this detector knows (after a reset): nothing to judge
                pause_start = change.ms - self.inner.silence_duration_ms
                self.pause_end_ms = pause_start + self.long_pause_ms
                start = max(self.turn_start_ms, change.ms - WINDOW_MS, self.recent_start_ms)
                self.ready = ScoreTurn(self._audio(start, change.ms), change.ms)
                self.in_flight = None
            elif self.pause_end_ms is None:  # speech after silence: a new turn
                self.turn_start_ms = change.ms
                events.append(change)
            elif change.ms + self.prefix_padding_ms < self.pause_end_ms:  # the user went on: same turn
                self.pause_end_ms = self.ready = self.in_flight = None
            else:  # this speech began after the long pause had ended the turn
                events.append(self._end(self.pause_end_ms))
                self.turn_start_ms = change.ms
                events.append(change)
        if self.pause_end_ms is not None and self.inner.position_ms >= self.pause_end_ms and not self.inner.speaking:
            events.append(self._end(self.pause_end_ms))
        return events

    def _end(self, end_ms: int) -> VadEvent:
        self.pause_end_ms = self.turn_start_ms = self.ready = self.in_flight = None
        return VadEvent('stopped', end_ms)

    def _remember(self, pcm: bytes) -> None:
        """Keep the audio a judgement may need: the last `WINDOW_MS`, and all the voice detector has not
        scored yet (bounded by the input buffer's limit, `make_room`)."""
        self.recent += pcm
        keep_from = min(self.recent_start_ms + len(self.recent) // BYTES_PER_MS, self.inner.position_ms) - WINDOW_MS
        drop = min(len(self.recent), max(0, (keep_from - self.recent_start_ms) * BYTES_PER_MS))
        if drop:
            del self.recent[:drop]
            self.recent_start_ms += drop // BYTES_PER_MS

    def _audio(self, start_ms: int, end_ms: int) -> bytes:
        begin = max(0, (start_ms - self.recent_start_ms) * BYTES_PER_MS)
        return bytes(self.recent[begin:max(begin, (end_ms - self.recent_start_ms) * BYTES_PER_MS)])


def complete(result: object) -> bool:
    """A worker's probability says the turn is finished (anything else, NaN or out of 0..1, says it is not)."""
    try:
        return COMPLETE_ABOVE < float(result) <= 1.0  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
