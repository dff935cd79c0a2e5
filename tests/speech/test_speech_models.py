"""The real models on the real test speech: faster-whisper tiny.en hears, piper speaks."""
from __future__ import annotations

import numpy as np
import pytest

from voice_ui.protocol import SAMPLE_RATE
from voice_ui.pcm import pcm16_to_float
from voice_ui.speech.audio import rms
from voice_ui.speech.wer import word_error_rate, words

MAX_WER = 0.1
# Synthesized speech heard back by whisper goes through two models, and piper adds random variation to
# every rendering: one slip in a short sentence is allowed (garbled or mis-rated audio scores near 1.0).
ROUND_TRIP_MAX_WER = 0.2
SECONDS_PER_WORD = (0.2, 0.9)  # 300 down to ~67 words a minute: short function words go fast


async def test_transcripts_match_the_manifest(speech_agent, utterances):
    for utterance in utterances:
        heard = await speech_agent.transcribe(utterance.pcm24, 'en', None)
        assert word_error_rate(utterance.text, heard) <= MAX_WER, (utterance.name, heard)


async def test_silence_is_not_words(speech_agent):
    heard = await speech_agent.transcribe(bytes(2 * SAMPLE_RATE), 'en', None)  # one second of digital silence
    assert len(words(heard)) <= 1, heard


def assert_plausible_speech(pcm: bytes, text: str) -> None:
    assert len(pcm) % 2 == 0
    samples = pcm16_to_float(pcm)
    seconds, n_words = samples.size / SAMPLE_RATE, len(words(text))
    low, high = SECONDS_PER_WORD
    assert low * n_words <= seconds <= high * n_words + 0.5, (seconds, n_words, text)
    assert rms(samples) > 0.02, 'synthesized speech is (nearly) silent'
    frames = samples[: samples.size // 480 * 480].reshape(-1, 480)  # 20 ms frames
    voiced = np.sqrt(np.mean(frames ** 2, axis=1)) > 0.01
    assert voiced.mean() > 0.4, 'less than 40 % of the frames carry sound'


async def test_synthesis_is_24k_pcm16_speech_that_transcribes_back(speech_agent, utterances):
    for utterance in utterances:
        pcm = await speech_agent.speak(utterance.text)
        assert_plausible_speech(pcm, utterance.text)
        heard = await speech_agent.transcribe(pcm, 'en', None)
        assert word_error_rate(utterance.text, heard) <= ROUND_TRIP_MAX_WER, (utterance.text, heard)


async def test_synthesis_is_resampled_not_relabelled(speech_agent):
    """piper speaks at 22.05 kHz: the 24 kHz output must last exactly as long, not be 8 % shorter."""
    text = 'Please turn on the kitchen lights.'
    from piper import SynthesisConfig

    from voice_ui.speech.engines import Synthesizer
    no_duration_noise = SynthesisConfig(noise_w_scale=0.0)  # piper varies phoneme lengths at random otherwise
    voice = (await speech_agent.synthesizer()).voice
    assert voice.config.sample_rate == 22_050
    native = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text, no_duration_noise)])
    pcm = Synthesizer(voice, no_duration_noise).synthesize(text)
    assert len(pcm) / 2 / SAMPLE_RATE == pytest.approx(native.size / 22_050, abs=0.001)


async def test_empty_text_synthesizes_nothing(speech_agent):
    assert await speech_agent.speak('   ') == b''


@pytest.mark.parametrize('prompt', [None, 'Kitchen lights, timers and weather.'])
async def test_prompt_and_language_are_accepted(speech_agent, utterances, prompt):
    lights = next(u for u in utterances if u.name == 'lights')
    heard = await speech_agent.transcribe(lights.pcm24, None, prompt)
    assert word_error_rate(lights.text, heard) <= MAX_WER, heard
