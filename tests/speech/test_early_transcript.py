"""Latency: the turn is decoded whole at its latest pause, so a commit after the pause finds its transcript ready;
and Whisper encodes a short turn at its own length rather than a 30 s window."""
from __future__ import annotations

import numpy as np
import pytest

from voice_ui.pcm import pcm16_to_float
from voice_ui.speech.agent import SpeechAgent
from voice_ui.speech.audio import resample
from voice_ui.speech.brains import EchoBrain
from voice_ui.speech.short_decode import MAX_SHORT_S, can_decode_short, decode_short
from voice_ui.speech.wer import word_error_rate

from .test_live_captions import WORDS, ScriptedRecognizer, agent_with, feed, silence, sound
from .test_speech_models import MAX_WER


async def test_each_later_pause_redecodes_from_the_start_of_the_turn():
    recognizer = ScriptedRecognizer()
    agent = agent_with(recognizer, live='0')
    turn = silence(300) + sound(800) + silence(500) + sound(700) + silence(600)
    await feed(agent, 'item_c', turn)
    [(_, first), (_, second)] = recognizer.decoded
    assert second > first + len(sound(700))  # the whole turn again, not only what followed the first pause
    assert await agent.transcribe_item('item_c', turn, 'en', None) == ' '.join(WORDS[:10])
    assert len(recognizer.decoded) == 2


@pytest.fixture(scope='module')
def whisper(speech_ready):
    from voice_ui.speech.models import load_whisper, whisper_source
    return load_whisper(whisper_source())


def at_16k(pcm24: bytes) -> np.ndarray:
    return resample(pcm16_to_float(pcm24), 24_000, 16_000)


def test_a_short_turn_decodes_at_its_own_length_as_well_as_the_full_window(whisper, utterances):
    for utterance in utterances:
        audio = at_16k(silence(500) + utterance.pcm24 + silence(500))
        assert can_decode_short(whisper, audio, None)  # tiny.en: English only, no language needed
        short = decode_short(whisper, audio, None, None)
        assert short is not None and word_error_rate(utterance.text, short) <= MAX_WER, short
        segments, _ = whisper.transcribe(audio, beam_size=1, condition_on_previous_text=False)
        full = ' '.join(segment.text.strip() for segment in segments)
        assert word_error_rate(full, short) <= MAX_WER, (full, short)


def test_silence_and_noise_are_no_speech_to_the_short_decode(whisper):
    assert decode_short(whisper, np.zeros(32_000, np.float32), None, None) == ''
    hiss = np.random.default_rng(5).standard_normal(32_000).astype(np.float32) * 0.01
    assert decode_short(whisper, hiss, None, None) in ('', None)  # nothing, or unsure (the usual path decides)


def test_long_turns_and_unknown_languages_take_the_usual_path(whisper):
    assert not can_decode_short(whisper, np.zeros(int(MAX_SHORT_S * 16_000) + 1, np.float32), 'en')
    assert not can_decode_short(ScriptedRecognizer(), np.zeros(16_000, np.float32), 'en')  # not faster-whisper


def test_the_short_window_is_opt_in_and_its_setting_checked():
    assert not SpeechAgent(brain=EchoBrain(), environ={}).short_window
    assert SpeechAgent(brain=EchoBrain(), environ={'VOICE_UI_WHISPER_WINDOW': ' Short '}).short_window
    with pytest.raises(ValueError, match="VOICE_UI_WHISPER_WINDOW must be 'full' or 'short'"):
        SpeechAgent(brain=EchoBrain(), environ={'VOICE_UI_WHISPER_WINDOW': '30s'})
