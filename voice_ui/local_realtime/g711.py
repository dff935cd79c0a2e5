"""The session's audio formats on the wire: PCM16 at 24 kHz, or G.711 μ-law / A-law at 8 kHz (telephony).

The engine works in 24 kHz PCM16 throughout; this module converts at the edges. The G.711 tables follow the
ITU-T reference algorithm (Sun's public-domain g711.c, the one `audioop` used, which Python 3.13 removed),
computed once with numpy: a 256-entry decode table and a 65,536-entry encode table.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..protocol import SAMPLE_RATE
from ..speech.audio import resample

PCM, PCMU, PCMA = 'audio/pcm', 'audio/pcmu', 'audio/pcma'
FORMATS = (PCM, PCMU, PCMA)
G711_RATE = 8_000
Codec = Callable[[bytes], bytes]


def _segment(values: np.ndarray, ends: list[int]) -> np.ndarray:
    return np.searchsorted(np.array(ends), values, side='left')


def _encode_ulaw(pcm: np.ndarray) -> np.ndarray:
    value = pcm.astype(np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    value = np.minimum(np.abs(value), 8159) + (0x84 >> 2)
    seg = _segment(value, [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    code = (np.minimum(seg, 7) << 4) | ((value >> (np.minimum(seg, 7) + 1)) & 0xF)
    return (np.where(seg >= 8, 0x7F, code) ^ mask).astype(np.uint8)


def _encode_alaw(pcm: np.ndarray) -> np.ndarray:
    value = pcm.astype(np.int32) >> 3
    negative = value < 0
    mask = np.where(negative, 0x55, 0xD5)
    value = np.where(negative, -value - 1, value)
    seg = _segment(value, [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    shift = np.where(seg < 2, 1, np.minimum(seg, 7))
    code = (np.minimum(seg, 7) << 4) | ((value >> shift) & 0xF)
    return (np.where(seg >= 8, 0x7F, code) ^ mask).astype(np.uint8)


def _decode_ulaw(codes: np.ndarray) -> np.ndarray:
    u = ~codes.astype(np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype('<i2')


def _decode_alaw(codes: np.ndarray) -> np.ndarray:
    a = codes.astype(np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype('<i2')


_ALL_PCM = np.arange(-32768, 32768, dtype=np.int32)
_ALL_CODES = np.arange(256, dtype=np.uint8)
ENCODE = {PCMU: _encode_ulaw(_ALL_PCM), PCMA: _encode_alaw(_ALL_PCM)}
DECODE = {PCMU: _decode_ulaw(_ALL_CODES), PCMA: _decode_alaw(_ALL_CODES)}


def g711_encode(pcm8: bytes, fmt: str) -> bytes:
    """8 kHz PCM16 to one G.711 byte per sample."""
    samples = np.frombuffer(pcm8[:len(pcm8) - len(pcm8) % 2], dtype='<i2').astype(np.int32)
    return ENCODE[fmt][samples + 32768].tobytes()


def g711_decode(codes: bytes, fmt: str) -> bytes:
    """G.711 bytes to 8 kHz PCM16."""
    return DECODE[fmt][np.frombuffer(codes, dtype=np.uint8)].tobytes()


def format_type(fmt: dict | None) -> str:
    return (fmt or {}).get('type') or PCM


def decoder(fmt: dict | None) -> Codec:
    """Wire audio in `fmt` to 24 kHz PCM16."""
    kind = format_type(fmt)
    if kind == PCM:
        return bytes
    return lambda codes: _pcm16(resample(_float(g711_decode(codes, kind)), G711_RATE, SAMPLE_RATE))


def encoder(fmt: dict | None) -> Codec:
    """24 kHz PCM16 to wire audio in `fmt`."""
    kind = format_type(fmt)
    if kind == PCM:
        return bytes
    return lambda pcm: g711_encode(_pcm16(resample(_float(pcm), SAMPLE_RATE, G711_RATE)), kind)


def wire_bytes_per_ms(fmt: dict | None) -> int:
    return SAMPLE_RATE * 2 // 1000 if format_type(fmt) == PCM else G711_RATE // 1000


def _float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm[:len(pcm) - len(pcm) % 2], dtype='<i2').astype(np.float32) / 32768.0


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).round().astype('<i2').tobytes()
