"""Energy-based voice activity detection for `server_vad` turn detection (sans-I/O, fed PCM16 bytes).

Positions are milliseconds on the session's input timeline (all audio ever appended), like the service's
`audio_start_ms` / `audio_end_ms`: the start includes `prefix_padding_ms`, the end includes the silence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..pcm import pcm16_to_float
from ..protocol import BYTES_PER_MS

FRAME_MS = 20
FRAME_BYTES = FRAME_MS * BYTES_PER_MS
MIN_SPEECH_MS = 60          # this much voiced audio before a turn starts: clicks are not speech
FLOOR_DB, SPAN_DB = -70.0, 60.0  # threshold 0..1 maps to -70..-10 dBFS (0.5: -40 dBFS)


@dataclass(frozen=True)
class VadEvent:
    kind: str   # 'started' or 'stopped'
    ms: int     # audio_start_ms (with prefix padding) or audio_end_ms (with the silence)


class EnergyVad:
    def __init__(self, threshold: float = 0.5, prefix_padding_ms: int = 300, silence_duration_ms: int = 500,
                 origin_ms: int = 0) -> None:
        self.level_db = FLOOR_DB + SPAN_DB * min(max(float(threshold), 0.0), 1.0)
        self.prefix_padding_ms = int(prefix_padding_ms)
        self.silence_duration_ms = int(silence_duration_ms)
        self.position_ms = origin_ms   # timeline position of the next unread frame
        self._pending = b''
        self._voiced_run_ms = 0
        self._onset_ms = 0
        self._silent_ms = 0
        self.speaking = False

    def feed(self, pcm: bytes) -> list[VadEvent]:
        data = self._pending + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        if not whole:
            return []
        samples = pcm16_to_float(data[:whole])
        energy = (samples.reshape(-1, FRAME_BYTES // 2) ** 2).mean(axis=1)
        voiced = 10 * np.log10(energy + 1e-12) > self.level_db
        events = []
        for is_voiced in voiced:
            event = self._step(bool(is_voiced))
            if event:
                events.append(event)
        return events

    def _step(self, voiced: bool) -> VadEvent | None:
        frame_start = self.position_ms
        self.position_ms += FRAME_MS
        if not self.speaking:
            if not voiced:
                self._voiced_run_ms = 0
                return None
            if not self._voiced_run_ms:
                self._onset_ms = frame_start
            self._voiced_run_ms += FRAME_MS
            if self._voiced_run_ms < MIN_SPEECH_MS:
                return None
            self.speaking, self._silent_ms = True, 0
            return VadEvent('started', max(0, self._onset_ms - self.prefix_padding_ms))
        self._silent_ms = 0 if voiced else self._silent_ms + FRAME_MS
        if self._silent_ms < self.silence_duration_ms:
            return None
        self.speaking, self._voiced_run_ms = False, 0
        return VadEvent('stopped', self.position_ms)

    @property
    def quiet_ms(self) -> int:
        """How long the speech in progress has been silent (0 while voiced, or when no speech is in progress)."""
        return self._silent_ms if self.speaking else 0

    def reset(self, origin_ms: int) -> None:
        """Forget any turn in progress (after a manual commit or clear); the next frame starts at `origin_ms`."""
        self.position_ms, self._pending = origin_ms, b''
        self._voiced_run_ms = self._silent_ms = 0
        self.speaking = False
