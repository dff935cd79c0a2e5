"""The input audio buffer on the session's timeline, with optional server VAD deciding where turns are."""
from __future__ import annotations

from ..protocol import BYTES_PER_MS, ErrorCode
from .session_schema import RequestError
from .vad import EnergyVad, VadEvent


class InputAudio:
    def __init__(self) -> None:
        self.buffer = bytearray()
        self.buffer_start_ms = 0  # timeline position of buffer[0]
        self.total_bytes = 0      # everything ever appended this session
        self.vad: EnergyVad | None = None
        self.turn_start_ms: int | None = None

    @property
    def total_ms(self) -> int:
        return self.total_bytes // BYTES_PER_MS

    def configure(self, turn_detection: dict | None) -> None:
        """(Re)start VAD for a new `turn_detection` (semantic_vad is approximated by the energy detector)."""
        if not turn_detection:
            self.vad = None
        else:  # values were validated (session_rules): finite and in range
            self.vad = EnergyVad(turn_detection.get('threshold', 0.5), turn_detection.get('prefix_padding_ms', 300),
                                 turn_detection.get('silence_duration_ms', 500), origin_ms=self.total_ms)
        self.turn_start_ms = None

    def make_room(self, incoming: int, cap: int) -> None:
        """Before appending `incoming` bytes: keep the uncommitted buffer within `cap`. While VAD waits for
        speech, the oldest audio (silence, of no turn) is dropped; otherwise the append is refused."""
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
        events = self.vad.feed(pcm) if self.vad else []
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
