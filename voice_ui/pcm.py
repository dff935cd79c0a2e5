"""PCM16 <-> float conversion, shared by the server's VAD and the speech engines (numpy only)."""
from __future__ import annotations

import numpy as np


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    """Little-endian PCM16 mono bytes to float32 in [-1, 1); a trailing odd byte is ignored."""
    usable = len(pcm) - len(pcm) % 2
    return np.frombuffer(pcm[:usable], dtype='<i2').astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).round().astype('<i2').tobytes()
