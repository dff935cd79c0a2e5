"""Issue 13, hands-free in real Chromium against the real app: a conversation of two turns without a click (the
mic speaks, pauses, speaks again), and a barge-in by voice (the second utterance starts while the agent's reply
plays). test_typing_handsfree.py covers one hands-free turn and switching back to push-to-talk; these go on from
there. The utterances are cut from the recordings in tests/testdata and spoken into a scripted mic when the moment
has come (Chromium's fake device, fed a silent WAV, is replaced by a WebAudio stream the test speaks into)."""
from __future__ import annotations

import base64
import wave

import numpy as np
import pytest

from tests.support import OUTPUT, TESTDATA, manifest
from voice_ui.protocol import ClientEvent, ServerEvent

from .checks import assert_played_fully
from .conftest import open_voice_page, screenshot


MIC_RATE = 48_000


def speech(name: str) -> np.ndarray:
    """A recording without its leading and trailing silence (int16 at 48 kHz)."""
    entry = manifest()[name]
    with wave.open(str(TESTDATA / entry['mic_file'])) as file:
        assert (file.getnchannels(), file.getsampwidth(), file.getframerate()) == (1, 2, MIC_RATE)
        samples = np.frombuffer(file.readframes(file.getnframes()), dtype='<i2')
    start = int(entry['mic_leading_silence_s'] * MIC_RATE)
    return samples[start:start + int(entry['speech_seconds'] * MIC_RATE)]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * MIC_RATE), dtype='<i2')


def mic_wav(name: str, *parts: np.ndarray) -> object:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f'mic-{name}.wav'
    with wave.open(str(path), 'wb') as file:
        file.setnchannels(1), file.setsampwidth(2), file.setframerate(MIC_RATE)
        file.writeframes(np.concatenate(parts).astype('<i2').tobytes())
    return path


def server_log(control) -> dict:
    [log] = control.sessions()
    return log


def client_events(log: dict, kind: str) -> list[dict]:
    return [event for event in log['client_events'] if event['type'] == kind]


@pytest.fixture
def open_page(playwright, chromium, app, control):
    control.clear_sessions()
    browsers = []

    def opened(wav, **options):
        browser, voice = open_voice_page(playwright, chromium, wav, app.url, **options)
        browsers.append(browser)
        return voice
    yield opened
    for browser in browsers:
        browser.close()


def test_a_hands_free_conversation_of_two_turns_takes_no_clicks_but_the_switch(open_page, control):
    """Speech, a pause for the whole reply, speech, a pause. A WAV on a fixed timeline made the pause a bet on the
    machine's speed (a loaded 2-core machine took over 20 s to answer, and the second turn became a barge-in), so
    the mic is scripted: the second utterance comes once the first reply has been played, however long it took."""
    voice = open_page(mic_wav('silence', silence(1.0)), init_scripts=(SCRIPTED_MIC_JS,))
    voice.page.get_by_role('switch', name='Hands-free').click()  # the one gesture
    voice.wait_for('s.status === "listening" && s.capturing', timeout_ms=20_000)
    say(voice, speech('weather'))
    voice.wait_for('s.vadTurns >= 1 && s.status === "listening" && s.lastPlayback !== null && !s.playing',
                   timeout_ms=120_000)
    voice.page.wait_for_timeout(1000)  # a pause after the reply
    say(voice, speech('lights'))
    voice.page.wait_for_function('document.querySelectorAll(".vu-turn-assistant .vu-text").length >= 2',
                                 timeout=120_000, polling=100)
    stats = voice.wait_for('s.status === "listening" && s.vadTurns >= 2 && !s.playing', timeout_ms=60_000)
    log = server_log(control)
    events = log['server_events']
    assert events.count(ServerEvent.SPEECH_STARTED) == 2, 'two utterances, two turns: the agent never heard itself'
    assert events.count(ServerEvent.INPUT_AUDIO_COMMITTED) == 2 and events.count(ServerEvent.RESPONSE_DONE) == 2
    sent_types = [event['type'] for event in voice.traffic.realtime_sent()]
    for kind in (ClientEvent.INPUT_AUDIO_COMMIT, ClientEvent.RESPONSE_CREATE, ClientEvent.ITEM_TRUNCATE):
        assert kind not in sent_types, f'{kind}: the server VAD took both turns and nothing was cut'
    assert len(voice.traffic.realtime_sockets()) == 1, 'one session for the whole conversation'
    assert_played_fully(stats)
    assert len(voice.cards('user')) == 2 and len(voice.cards('assistant')) == 2
    assert voice.page.get_by_text('interrupted').count() == 0
    screenshot(voice.page, 'e2e-hands-free-two-turns.png')


def test_a_barge_in_by_voice_stops_playback_and_truncates_at_what_was_heard(open_page, control):
    """The second utterance must start while the reply plays, whatever the machine's speed: so this mic is scripted
    (the test says each utterance when the moment has come) instead of a WAV on a fixed timeline."""
    voice = open_page(mic_wav('silence', silence(1.0)), init_scripts=(SCRIPTED_MIC_JS,))
    voice.page.get_by_role('switch', name='Hands-free').click()
    voice.wait_for('s.status === "listening" && s.capturing', timeout_ms=20_000)
    long_turn = np.concatenate([speech('weather'), silence(0.2), speech('lights'), silence(0.2), speech('timer')])
    say(voice, long_turn)  # the agent says it back: a long reply
    voice.wait_for('s.status === "speaking" && s.playing && s.player.framesPlayed >= 24 * 1000', timeout_ms=90_000)
    say(voice, speech('lights'))  # talking over it
    cut = voice.wait_for('s.lastPlayback !== null && s.lastPlayback.flushed && !s.playing', timeout_ms=10_000)
    heard_ms = cut['lastPlayback']['frames_played'] / 24
    assert cut['status'] in ('listening', 'stopping', 'thinking'), cut['status']
    voice.page.wait_for_function('document.querySelectorAll(".vu-turn-assistant .vu-text").length >= 2',
                                 timeout=90_000, polling=100)
    stats = voice.wait_for('s.status === "listening" && !s.playing && !s.lastPlayback.flushed', timeout_ms=90_000)

    log = server_log(control)
    [truncate] = client_events(log, ClientEvent.ITEM_TRUNCATE)
    assert 1000 <= truncate['audio_end_ms'] <= heard_ms + 1, (truncate, heard_ms)  # what was heard, not the reply
    assert ServerEvent.ITEM_TRUNCATED in log['server_events']
    assert log['server_events'].count(ServerEvent.SPEECH_STARTED) == 2, 'no self-interrupt from the playback'
    sent_types = [event['type'] for event in voice.traffic.realtime_sent()]
    assert ClientEvent.INPUT_AUDIO_COMMIT not in sent_types and ClientEvent.RESPONSE_CREATE not in sent_types
    assert_played_fully(stats)  # the second reply was played whole
    voice.page.locator('.vu-turn-assistant .vu-note', has_text='interrupted').first.wait_for(timeout=5000)
    assert len(voice.cards('user')) == 2
    assert not voice.page.get_by_role('alert').is_visible(), 'the barge-in showed an error'
    screenshot(voice.page, 'e2e-hands-free-barge-in.png')


# getUserMedia answers with a stream the test speaks into (48 kHz PCM16 as base64) when it chooses.
SCRIPTED_MIC_JS = """
(() => {
  let context = null, sink = null;
  const ready = () => {
    if (!context) { context = new AudioContext({ sampleRate: 48000 }); sink = context.createMediaStreamDestination(); }
    return context.resume();
  };
  window.__scriptedMic = {
    async say(base64) {
      await ready();
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const pcm = new Int16Array(bytes.buffer);
      const buffer = context.createBuffer(1, pcm.length, 48000);
      const data = buffer.getChannelData(0);
      for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(sink);
      source.start();
    },
  };
  navigator.mediaDevices.getUserMedia = async () => {
    await ready();
    return new MediaStream(sink.stream.getAudioTracks().map((track) => track.clone()));
  };
})();
"""


def say(voice, samples: np.ndarray) -> None:
    encoded = base64.b64encode(samples.astype('<i2').tobytes()).decode()
    voice.page.evaluate('(b) => window.__scriptedMic.say(b)', encoded)
