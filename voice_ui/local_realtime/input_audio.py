"""The input audio buffer on the session's timeline, with optional server VAD deciding where turns are."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import BYTES_PER_MS, ErrorCode
from .session_schema import RequestError
from .turn_detectors import new_detector
from .vad import EnergyVad, VadEvent

if TYPE_CHECKING:
    from .neural_vad import NeuralVad
    from .semantic_turns import SemanticTurns


class InputAudio:
    def __init__(self, detector_kind: str = 'energy', turn_model: str = 'none') -> None:
        self.detector_kind = detector_kind  # 'neural' or 'energy' (turn_detectors.py)
        self.turn_model = turn_model        # 'smart-turn' or 'none': semantic_vad's end-of-turn model
        self.buffer = bytearray()
        self.buffer_start_ms = 0  # timeline position of buffer[0]
        self.total_bytes = 0      # everything ever appended this session
        self.vad: EnergyVad | NeuralVad | SemanticTurns | None = None
        self.turn_start_ms: int | None = None

    @property
    def total_ms(self) -> int:
        return self.total_bytes // BYTES_PER_MS

    def configure(self, turn_detection: dict | None) -> None:
        """(Re)start VAD for a new `turn_detection` (semantic_vad: the end-of-turn model or eagerness decides,
        turn_detectors.py). Values were validated (session_rules): finite and in range."""
        self.vad = (new_detector(self.detector_kind, turn_detection, self.total_ms, self.turn_model)
                    if turn_detection else None)
        self.turn_start_ms = None

    def make_room(self, incoming: int, cap: int) -> None:
        """Before appending `incoming` bytes: keep the uncommitted buffer within `cap`. While VAD waits for
        speech, the oldest audio (silence, of no turn) is dropped; otherwise the append is refused."""
        backlog = getattr(self.vad, 'backlog_bytes', 0)  # audio the neural detector has not scored yet
        if backlog + incoming > cap:
            raise RequestError(ErrorCode.INVALID_VALUE, f'{backlog} bytes of input audio still wait for voice '
                               f'detection; {incoming} more would exceed its limit of {cap} bytes. Send audio at '
                               'about real time.', 'audio')
        excess = len(self.buffer) + incoming - cap
        if excess <= 0:
            return
        if self.vad is not None and self.turn_start_ms is None and not self.vad.speaking:
            dropped = min(len(self.buffer), excess + (-excess) % BYTES_PER_MS)  # whole milliseconds
            del self.buffer[:dropped]
            self.buffer_start_ms += dropped // BYTES_PER_MS
            if len(self.buffer) + incoming <= cap:
                return
        raise RequestError(ErrorCode.INVALID_VALUE, f'The input audio buffer holds {len(self.buffer)} bytes; '
                           f'{incoming} more would exceed its limit of {cap} bytes. Commit or clear it first.',
                           'audio')

    def append(self, pcm: bytes) -> list[VadEvent]:
        self.buffer += pcm
        self.total_bytes += len(pcm)
        return self._track(self.vad.feed(pcm) if self.vad else [])

    def voice_work(self):
        """A job for a worker: `ScoreVoice` when the neural detector has more audio than it scores inline,
        `ScoreTurn` when semantic_vad's end-of-turn model is to judge a pause."""
        take_work = getattr(self.vad, 'take_work', None)
        return take_work() if take_work else None

    def voice_scored(self, job, result) -> list[VadEvent]:
        """A worker's result; nothing when the detector was reset or replaced meanwhile."""
        scored = getattr(self.vad, 'scored', None)
        return self._track(scored(job, result) if scored else [])

    def _track(self, events: list[VadEvent]) -> list[VadEvent]:
        for vad_event in events:
            if vad_event.kind == 'started':
                self.turn_start_ms = vad_event.ms
        return events

    def take_turn(self, end_ms: int) -> bytes:
        """The audio of the VAD turn ending at `end_ms`; the buffer keeps only what follows it."""
        start_ms = self.turn_start_ms if self.turn_start_ms is not None else self.buffer_start_ms
        begin = max(0, (start_ms - self.buffer_start_ms) * BYTES_PER_MS)
        end = max(0, (end_ms - self.buffer_start_ms) * BYTES_PER_MS)
        audio = bytes(self.buffer[begin:end])
        del self.buffer[:end]
        self.buffer_start_ms += end // BYTES_PER_MS
        self.turn_start_ms = None
        return audio

    def take_all(self) -> bytes:
        """A manual commit: everything buffered; a turn the VAD was tracking is over."""
        audio = bytes(self.buffer)
        self.clear()
        return audio

    def clear(self) -> None:
        self.buffer.clear()
        self.buffer_start_ms = self.total_ms
        self.turn_start_ms = None
        if self.vad:
            self.vad.reset(self.total_ms)
