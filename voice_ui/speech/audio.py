"""Sample-rate conversion and levels for the speech models and the embedded server's G.711 path.

Resampling is FFmpeg's libswresample through PyAV, which faster-whisper already requires (the speech extra brings
it). Without the extra (PyAV absent: a core install, where only G.711's 8 kHz <-> 24 kHz needs it) a numpy
windowed-sinc fallback does the job, so the core install needs no FFmpeg.
"""
from __future__ import annotations

import importlib.util

import numpy as np

HAVE_PYAV = importlib.util.find_spec('av') is not None
TAPS_PER_SIDE = 32  # the fallback's windowed-sinc half length: aliasing well below speech levels


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Mono float32 samples at `source_rate` -> float32 at `target_rate`, low-passed below the lower Nyquist
    frequency (24 kHz -> 16 kHz must not fold 8..12 kHz back into the band)."""
    samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    if source_rate == target_rate or samples.size == 0:
        return samples
    return (_pyav_resample if HAVE_PYAV else _numpy_resample)(samples, source_rate, target_rate)


def _pyav_resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    import av
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format='flt', layout='mono')
    frame.sample_rate = source_rate
    resampler = av.AudioResampler(format='flt', layout='mono', rate=target_rate)
    frames = resampler.resample(frame) + resampler.resample(None)  # None flushes the filter's delay line
    if not frames:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([out.to_ndarray().reshape(-1) for out in frames]).astype(np.float32, copy=False)


def _numpy_resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    if target_rate < source_rate:  # a Hann-windowed sinc low-pass, unity gain at DC, then interpolate
        cutoff = 0.5 * target_rate / source_rate
        n = np.arange(-TAPS_PER_SIDE, TAPS_PER_SIDE + 1)
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hanning(n.size)
        samples = np.convolve(samples, (taps / taps.sum()).astype(np.float32), mode='same')
    positions = np.arange(int(round(samples.size * target_rate / source_rate))) * (source_rate / target_rate)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
