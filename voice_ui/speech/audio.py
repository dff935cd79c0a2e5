"""Sample-rate conversion and levels for the speech models.

Resampling is FFmpeg's libswresample through PyAV, which faster-whisper already requires (it decodes audio files
with it), so the speech extra brings a maintained, band-limited resampler at no extra cost.
"""
from __future__ import annotations

import av
import numpy as np


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Mono float32 samples at `source_rate` -> float32 at `target_rate`, low-passed below the lower Nyquist
    frequency (24 kHz -> 16 kHz must not fold 8..12 kHz back into the band), the resampler's tail flushed."""
    samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    if source_rate == target_rate or samples.size == 0:
        return samples
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format='flt', layout='mono')
    frame.sample_rate = source_rate
    resampler = av.AudioResampler(format='flt', layout='mono', rate=target_rate)
    frames = resampler.resample(frame) + resampler.resample(None)  # None flushes the filter's delay line
    if not frames:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([out.to_ndarray().reshape(-1) for out in frames]).astype(np.float32, copy=False)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
