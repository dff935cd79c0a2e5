"""The pieces that need no speech models: WER scoring and numpy resampling."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support import unavailable
from voice_ui.pcm import float_to_pcm16, pcm16_to_float
from voice_ui.speech.audio import resample, rms
from voice_ui.speech.wer import word_error_rate, words


@pytest.mark.parametrize(('reference', 'hypothesis', 'expected'), [
    ('hello world', 'Hello, world!', 0.0),
    ('set a timer for ten minutes', 'Set a timer for 10 minutes.', 0.0),
    ('please turn on the kitchen lights', 'please turn on the lights', 1 / 6),          # one deletion
    ('please turn on the kitchen lights', 'please turn off the kitchen lights', 1 / 6),  # one substitution
    ('what is the weather', 'so what is the weather today', 2 / 4),                     # two insertions
    ('a b c', '', 1.0),
])
def test_word_error_rate(reference, hypothesis, expected):
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)


def test_numbers_are_spoken_words():
    assert words("It's 21, 100 and 999") == ['its', 'twenty', 'one', 'one', 'hundred', 'and',
                                             'nine', 'hundred', 'ninety', 'nine']


def tone(frequency: float, rate: int, seconds: float = 0.5, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


@pytest.fixture(params=['pyav', 'numpy'])
def resampler(request, monkeypatch):
    """PyAV (the speech extra) and the numpy fallback a core install uses for G.711 must both hold."""
    from voice_ui.speech import audio
    if request.param == 'numpy':
        monkeypatch.setattr(audio, 'HAVE_PYAV', False)
    elif not audio.HAVE_PYAV:
        unavailable('PyAV not installed (the speech extra brings it)')
    return request.param


@pytest.mark.parametrize(('source', 'target'), [(24_000, 16_000), (22_050, 24_000), (8_000, 24_000)])
def test_resampling_keeps_pitch_length_and_level(source, target, resampler):
    out = resample(tone(440, source), source, target)
    assert out.size == round(0.5 * target)
    assert dominant_frequency(out, target) == pytest.approx(440, abs=3)
    assert rms(out[200:-200]) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_downsampling_removes_what_would_alias(resampler):
    """10 kHz cannot exist at 16 kHz: without the low-pass it would fold back to 6 kHz at full level."""
    out = resample(tone(10_000, 24_000), 24_000, 16_000)
    assert rms(out[200:-200]) < 0.05 * 0.5


def test_pcm16_round_trip_and_rate_change():
    samples = tone(300, 24_000)
    pcm = float_to_pcm16(samples)
    assert len(pcm) == 2 * samples.size
    assert np.max(np.abs(pcm16_to_float(pcm) - samples)) <= 1 / 32768
    assert len(float_to_pcm16(resample(pcm16_to_float(pcm), 24_000, 16_000))) == 2 * 8_000
    assert float_to_pcm16(np.array([2.0, -2.0], dtype=np.float32)) == b'\xff\x7f\x00\x80'  # clipped, not wrapped
