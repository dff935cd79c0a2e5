"""Blocking wrappers around the speech models. Call them from worker threads (`asyncio.to_thread`), never the loop."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..protocol import SAMPLE_RATE
from ..pcm import float_to_pcm16, pcm16_to_float
from .audio import resample
from .short_decode import can_decode_short, decode_short
from .word_timing import word_ends_ms

WHISPER_RATE = 16_000


class Recognizer:
    """faster-whisper on 24 kHz PCM16 input."""

    def __init__(self, model: Any, short_window: bool = False) -> None:
        self._model = model
        self.short_window = short_window  # encode a short turn at its own length (short_decode.py): opt-in
        self._lock = threading.Lock()  # one decode at a time: on a small CPU, parallel decodes only thrash

    @property
    def busy(self) -> bool:
        """A decode is running (another session's, say): interim captions wait rather than queue behind it."""
        return self._lock.locked()

    def transcribe(self, pcm24: bytes, language: str | None = None, prompt: str | None = None,
                   short: bool | None = None) -> str:
        """`short`: encode a short turn at its own length (default: the configured window); audio that ends in
        silence decodes as well that way, speech cut mid-word better with the full window."""
        audio = resample(pcm16_to_float(pcm24), SAMPLE_RATE, WHISPER_RATE)
        if audio.size == 0:
            return ''
        with self._lock:
            if (self.short_window if short is None else short) and can_decode_short(self._model, audio, language):
                text = decode_short(self._model, audio, language, prompt)
                if text is not None:
                    return text
            segments, _info = self._model.transcribe(
                audio, language=language or None, initial_prompt=prompt or None, beam_size=1,
                condition_on_previous_text=False)  # one short turn: no cross-segment conditioning to loop on
            return ' '.join(segment.text.strip() for segment in segments).strip()


    def interim(self, pcm24: bytes, language: str | None = None, prompt: str | None = None) -> str | None:
        """A quick guess at speech still going on (live captions): the short window only; None when it cannot be
        used or is unsure (a full-window decode would cost several guesses' time for a caption that can wait)."""
        audio = resample(pcm16_to_float(pcm24), SAMPLE_RATE, WHISPER_RATE)
        if audio.size == 0 or not can_decode_short(self._model, audio, language):
            return None
        with self._lock:
            return decode_short(self._model, audio, language, prompt)


class Synthesizer:
    """piper text-to-speech, resampled to the protocol's 24 kHz PCM16."""

    def __init__(self, voice: Any, config: Any = None) -> None:
        self.voice = voice    # a piper.PiperVoice
        self.config = config  # an optional piper.SynthesisConfig (speed, noise, volume)
        self._lock = threading.Lock()

    @property
    def sample_rate(self) -> int:
        return int(self.voice.config.sample_rate)

    def synthesize(self, text: str) -> bytes:
        return self.synthesize_timed(text)[0]

    def synthesize_timed(self, text: str) -> tuple[bytes, tuple[int, ...] | None]:
        """The speech, and when each word of `text` ends in it (ms), when that can be told."""
        if not text.strip():
            return b'', None
        with self._lock:
            chunks = list(self.voice.synthesize(text, self.config))
        if not chunks:
            return b'', None
        pcm = float_to_pcm16(resample(np.concatenate([chunk.audio_float_array for chunk in chunks]),
                                      self.sample_rate, SAMPLE_RATE))
        timing = word_ends_ms(text, [(chunk.phonemes, len(chunk.audio_float_array)) for chunk in chunks],
                              self.sample_rate)
        return pcm, timing
