"""Issue 14, "Download audio": the conversation as one WAV, both sides, recorded in the browser, in real Chromium.

The embedded server runs with its echo agent, which speaks back exactly the committed audio, so the file can be
checked sample by sample: the left channel holds exactly what the page sent, the right one exactly what the player
played (the whole reply, or, after a barge-in, only the part that was heard), each where it happened on the
timeline. The WAV is read with Python's `wave`; the download is a `blob:` URL, and no audio reaches Python.
"""
from __future__ import annotations

import base64
import io
import re
import secrets
import wave

import numpy as np
import pytest

from tests.support import manifest
from voice_ui.protocol import ClientEvent

from .checks import assert_played_fully
from .conftest import running_app, running_realtime_server, voice_page

API_KEY = 'sk-e2e-' + secrets.token_urlsafe(24)
UTTERANCE = manifest()['weather']
HOLD_S = UTTERANCE['mic_leading_silence_s'] + UTTERANCE['speech_seconds'] + UTTERANCE['mic_trailing_silence_s'] + 0.3
RATE = 24_000
FRAMES_PER_MS = RATE // 1000
MAX_GAP_MS = 2000       # the recorder's default: longer silences between turns are shortened to this
PLACEMENT_MS = 250      # how far a side's placement may be off on a loaded 2-core machine (main-thread stalls)
MAIN_THREAD_LAG_MS = 1000  # how late the main thread may hear of a worklet's report there (a burst of deltas)


@pytest.fixture(scope='module')
def realtime_server():
    with running_realtime_server('local-realtime-echo', API_KEY, '--pacing', 'burst', '--agent', 'echo') as server:
        yield server


@pytest.fixture(scope='module')
def app(realtime_server):
    with running_app('app-audio-download', env={'OPENAI_BASE_URL': realtime_server.url + '/v1',
                                                'OPENAI_API_KEY': API_KEY}) as app:
        yield app


@pytest.fixture(scope='module')
def voice(playwright, chromium, app):
    with voice_page(playwright, chromium, 'weather', app.url) as voice:
        yield voice
        errors = [line for line in voice.console if line.startswith('pageerror')]
    assert not errors, errors


# --- helpers ---

def python_frames(voice, since: int = 0) -> list:
    """Socket.io frames the page sent to Python, but for engine.io pings ('2'/'3') and NiceGUI's periodic acks."""
    def housekeeping(payload) -> bool:
        return isinstance(payload, str) and (payload in ('2', '3') or payload.startswith('42["ack",'))
    return [f for f in voice.traffic.frames[since:]
            if f.direction == 'sent' and 'socket.io' in f.url and not housekeeping(f.payload)]


def download_audio(voice) -> tuple[bytes, str, list]:
    """Clicks "Download audio"; returns the file, its URL and what the page sent to Python meanwhile."""
    # The turn's last events (latency, status) leave in a batch up to 200 ms later (python-link.js): not the click's.
    link = f'getElement({voice.element_id}).voice.link'
    voice.page.wait_for_function(f'{link}.timer === null && {link}.outbox.length === 0 && {link}.pending.size === 0',
                                 timeout=10_000)
    voice.page.wait_for_timeout(100)  # and the frame that carried them has been captured
    before = len(voice.traffic.frames)
    with voice.page.expect_download(timeout=20_000) as info:
        voice.click('Download audio')
    data = open(info.value.path(), 'rb').read()
    voice.page.wait_for_timeout(300)  # anything the click sent to Python has been captured by now
    return data, info.value.url, python_frames(voice, before)


def read_stereo_wav(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getcomptype()) == (2, 2, RATE, 'NONE')
        frames = wav.readframes(wav.getnframes())
        assert len(frames) == wav.getnframes() * 4 == len(data) - 44, 'header and data disagree'
    samples = np.frombuffer(frames, dtype='<i2').reshape(-1, 2)
    return samples[:, 0], samples[:, 1]


def sent_audio(sent: list[dict]) -> np.ndarray:
    """Everything the page appended to the Realtime input buffer, as samples."""
    pcm = b''.join(base64.b64decode(e['audio']) for e in sent if e['type'] == ClientEvent.INPUT_AUDIO_APPEND)
    return np.frombuffer(pcm, dtype='<i2')


def first_sound(samples: np.ndarray, start: int = 0) -> int:
    nonzero = np.flatnonzero(samples[start:])
    assert nonzero.size, 'no sound there'
    return start + int(nonzero[0])


def assert_no_audio_to_python(frames: list, audio_bytes: int) -> None:
    sent = sum(len(f.payload) for f in frames)
    assert sent < 0.05 * audio_bytes, f'{sent} bytes to Python for {audio_bytes} bytes of audio'
    for frame in frames:
        text = frame.payload if isinstance(frame.payload, str) else frame.payload.decode('latin-1')
        assert not re.search(r'[A-Za-z0-9+/=]{200,}', text), 'a base64 payload went to Python'


# --- a real conversation ---

def test_the_downloaded_wav_holds_both_sides_of_a_turn(voice):
    first_frame = len(voice.traffic.frames)
    result = voice.turn(HOLD_S)
    played = assert_played_fully(result.stats)
    user = sent_audio(result.sent)
    assert len(user) == round(result.stats['turnMs'] * FRAMES_PER_MS) > 0
    data, url, during_download = download_audio(voice)
    assert url.startswith('blob:'), url  # made in the browser, not served by Python
    assert during_download == [], [f.payload for f in during_download]
    assert_no_audio_to_python(python_frames(voice, first_frame), user.nbytes)

    left, right = read_stereo_wav(data)
    # The person: exactly what was sent, from the file's first sample (the recording starts with the first audio).
    assert np.array_equal(left[:len(user)], user)
    assert not left[len(user):].any()
    # The agent: the echo of it, all of it (the reply played fully), after the turn.
    reply_at = first_sound(right) - first_sound(user)
    assert reply_at >= len(user), (reply_at, len(user))
    heard = right[reply_at:]
    if played['underruns'] == 0:
        assert len(heard) == len(user) and np.array_equal(heard, user)
    else:  # a gap heard mid-reply is kept in the file as the silence it was
        assert np.array_equal(heard[heard != 0], user[user != 0])
    assert not right[:reply_at].any()
    # Where it was placed agrees with when it played: from the end of the turn to the first sound of the reply.
    # The turn began at its Start (the capture starts then), the reply when the worklet played its first sample.
    began, played_at = voice.page.evaluate('(id) => { const v = getElement(id).voice; '
                                           'return [v.stats.lastTurn.startedAt, v.player.counters.playedAt]; }',
                                           voice.element_id)
    gap = (reply_at - len(user)) / FRAMES_PER_MS
    expected_gap = min(played_at - began - len(user) / FRAMES_PER_MS, MAX_GAP_MS)
    assert abs(gap - expected_gap) <= 50, (gap, expected_gap)
    # And, coarsely, with when the main thread heard of the turn's end and the reply's first sound.
    stats = result.stats
    arrival_gap = min(stats['playbackStartedAt'] - stats['turnStoppedAt'], MAX_GAP_MS)
    print(f'\nreply placed {gap:.0f} ms after the turn (worklet clocks: {expected_gap:.0f} ms, '
          f'main thread: {arrival_gap:.0f} ms)')
    assert abs(gap - arrival_gap) <= MAIN_THREAD_LAG_MS, (gap, arrival_gap)
    # The person's side lasts as long as the turn was held (Start to Stop on the audio clock, which paces the fake
    # microphone; plus the tail still in flight at Stop).
    held_ms, user_ms = stats['turnHeldMs'], len(user) / FRAMES_PER_MS
    assert 0.85 * HOLD_S * 1000 <= user_ms and held_ms - 150 <= user_ms <= held_ms + PLACEMENT_MS, (user_ms, held_ms)


BARGE_IN_JS = '''async ([id, afterOnset]) => {
  const element = getElement(id);
  const user = element.recorder.user;  // the echo says back what was sent: its speech starts where the turn's did
  const samples = user.chunks.slice(user.head).flatMap((c) => Array.from(c.pcm));
  const frames = Math.max(0, samples.findIndex((v) => v !== 0)) + afterOnset;
  const heard = () => (element.voice.player ? element.voice.player.counters.framesPlayed : 0);
  while (!(element.voice.player.counters.playing && heard() >= frames)) await new Promise((r) => setTimeout(r, 5));
  element.start();
}'''


def test_an_interrupted_reply_is_recorded_only_as_far_as_it_was_heard(voice):
    voice.click('Close Session')  # a new conversation (the transcript is cleared, and so is the recording)
    voice.wait_status('closed', timeout_ms=10_000)
    before = len(voice.traffic.frames)
    voice.click('Download audio')
    voice.page.get_by_text('No audio recorded yet').wait_for(timeout=5_000)  # said on the page, nothing saved
    assert all(len(f.payload) < 1000 for f in python_frames(voice, before))

    first_frame = len(voice.traffic.frames)
    voice.start_speaking()  # a new getUserMedia: the fake mic speaks the utterance again
    voice.page.wait_for_timeout(HOLD_S * 1000)
    voice.stop_speaking()
    voice.wait_status('speaking', timeout_ms=30_000)
    # Barge-in half a second into the reply's speech: Start, as its button does, the moment that much was heard.
    cut_frame = len(voice.traffic.frames)
    voice.page.evaluate(BARGE_IN_JS, [voice.element_id, 500 * FRAMES_PER_MS])
    stats = voice.wait_for('s.lastPlayback !== null && s.lastPlayback.flushed && !s.playing', timeout_ms=5000)
    heard_frames = stats['lastPlayback']['frames_played']
    voice.page.wait_for_timeout(800)
    voice.stop_speaking()
    voice.wait_reply()
    sent = voice.traffic.realtime_sent(first_frame)
    cut = len(sent) - len(voice.traffic.realtime_sent(cut_frame))  # the events before the barge-in
    turn1, turn2 = sent_audio(sent[:cut]), sent_audio(sent[cut:])
    truncate = next(e for e in sent[cut:] if e['type'] == ClientEvent.ITEM_TRUNCATE)
    assert abs(truncate['audio_end_ms'] - heard_frames / FRAMES_PER_MS) <= 1, (truncate, heard_frames)
    assert 0 < heard_frames < len(turn1) - 24 * 500, (heard_frames, len(turn1))

    left, right = read_stereo_wav(download_audio(voice)[0])
    assert np.array_equal(left[:len(turn1)], turn1), 'the recording restarted with the new conversation'
    reply_at = first_sound(right) - first_sound(turn1)
    heard = right[reply_at:reply_at + heard_frames]
    if stats['lastPlayback']['underruns'] == 0:
        assert np.array_equal(heard, turn1[:heard_frames])
    print(f'\nheard {heard_frames / FRAMES_PER_MS:.0f} ms of a {len(turn1) / FRAMES_PER_MS:.0f} ms reply')
    # After what was heard, nothing more of that reply: only the echo of the second turn (the quiet mic) follows.
    rest = right[reply_at + heard_frames:]
    tail = turn1[heard_frames:]
    assert np.count_nonzero(tail) > 24 * 200, 'the cut came after the speech: nothing to leave out'
    assert not np.array_equal(rest[:len(tail)], tail)
    assert np.count_nonzero(rest) <= np.count_nonzero(turn2), (np.count_nonzero(rest), np.count_nonzero(turn2))
    # The second turn began where the reply was cut (Start is the barge-in), on the left channel.
    turn2_at = first_frame_of(voice, 2)
    assert abs(turn2_at - (reply_at + heard_frames)) / FRAMES_PER_MS <= PLACEMENT_MS, (turn2_at, reply_at)
    assert np.array_equal(left[turn2_at:turn2_at + len(turn2)], turn2)


def first_frame_of(voice, nth_turn: int) -> int:
    """Where the recorder placed the nth user turn of this conversation (its chunk starts, white-box)."""
    starts = voice.page.evaluate('''(id) => {
      const user = getElement(id).recorder.user;
      const chunks = user.chunks.slice(user.head);
      return chunks.filter((c, i) => i === 0 || c.at !== chunks[i - 1].at + chunks[i - 1].pcm.length).map((c) => c.at);
    }''', voice.element_id)
    assert len(starts) >= nth_turn, starts
    return starts[nth_turn - 1] - voice.page.evaluate(f'getElement({voice.element_id}).recorder.start')
