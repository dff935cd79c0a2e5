"""Sample-rate conversion and levels with numpy only (no scipy in the runtime deps)."""
from __future__ import annotations

import numpy as np

TAPS_PER_SIDE = 32  # windowed-sinc half length: enough to keep aliasing well below speech levels


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling: low-pass below the lower Nyquist frequency, then interpolate.

    Linear interpolation alone folds everything between 8 and 12 kHz back into the band when going
    24 kHz -> 16 kHz; the windowed-sinc low-pass removes it first.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if source_rate == target_rate or samples.size == 0:
        return samples
    if target_rate < source_rate:
        samples = _low_pass(samples, cutoff=0.5 * target_rate / source_rate)
    duration_samples = int(round(samples.size * target_rate / source_rate))
    positions = np.arange(duration_samples, dtype=np.float64) * (source_rate / target_rate)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def _low_pass(samples: np.ndarray, cutoff: float) -> np.ndarray:
    """`cutoff` as a fraction of the sample rate (0.5 = Nyquist); a Hann-windowed sinc, unity gain at DC."""
    n = np.arange(-TAPS_PER_SIDE, TAPS_PER_SIDE + 1)
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hanning(n.size)
    taps /= taps.sum()
    return np.convolve(samples, taps.astype(np.float32), mode='same')


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
