"""Live captions on the real page (keyless app, offline speech): while the person is still speaking — Start held,
the fake microphone still playing — the user's card already shows the first words, and after Stop it holds the
final transcript. The microphone says two recordings run together with no pause (3.4 s of speech), so the words
can only come from decodes of speech still going on: a pause would have its own decode, after the speech."""
from __future__ import annotations

import wave
from pathlib import Path

import pytest

from tests.support import TESTDATA, manifest

from .conftest import voice_page
from .test_embedded_app import uses_speech_models

FIRST, SECOND = manifest()['lights'], manifest()['timer']
GAP_S = 0.1  # shorter than any pause the server decodes at (live.PAUSE_MS)
SPEECH_ENDS_MS = (FIRST['mic_leading_silence_s'] + FIRST['speech_seconds'] + GAP_S + SECOND['speech_seconds']) * 1000

FIRST_CAPTION_JS = '''() => {
  const card = document.querySelector('.vu-turn-user .vu-text');
  const text = card ? card.innerText.trim() : '';
  return text ? { text, at: performance.now() } : null;
}'''


def joined_recording(folder: Path) -> Path:
    """The first recording without its trailing silence, a short gap, the second without its leading silence."""
    frames, rate = [], None
    for entry, keep in ((FIRST, 'head'), (SECOND, 'tail')):
        with wave.open(str(TESTDATA / entry['mic_file'])) as wav:
            rate, params, data = wav.getframerate(), wav.getparams(), wav.readframes(wav.getnframes())
        width = params.sampwidth * params.nchannels
        if keep == 'head':
            data = data[:len(data) - int((entry['mic_trailing_silence_s'] - GAP_S / 2) * rate) * width]
        else:
            data = data[int((entry['mic_leading_silence_s'] - GAP_S / 2) * rate) * width:]
        frames.append(data)
    path = folder / 'joined.mic48k.wav'
    with wave.open(str(path), 'wb') as out:
        out.setparams(params)
        out.writeframes(b''.join(frames))
    assert rate == 48_000
    return path


def test_the_user_card_shows_words_while_the_user_is_still_speaking(playwright, chromium, app, tmp_path):
    if not uses_speech_models():  # (fails in CI) the echo agent does not hear, so it has no captions
        pytest.skip('speech extra not installed: pip install -e ".[speech]"')
    with voice_page(playwright, chromium, joined_recording(tmp_path), app.url) as voice:
        voice.start_speaking()
        started = voice.page.evaluate('performance.now()')
        first = voice.page.wait_for_function(FIRST_CAPTION_JS, timeout=20_000, polling=20).json_value()
        shown_after_ms = first['at'] - started
        assert shown_after_ms < SPEECH_ENDS_MS, (first, shown_after_ms)  # the speech was still going on
        assert first['text'].split()[0].strip(',.').lower() == 'please', first
        voice.page.wait_for_timeout(max(0.0, SPEECH_ENDS_MS + 700 - shown_after_ms))
        voice.stop_speaking()
        voice.wait_reply()
        from voice_ui.speech.wer import word_error_rate
        [card] = voice.cards('user')
        assert word_error_rate(f"{FIRST['text']} {SECOND['text']}", card) <= 0.2, card
