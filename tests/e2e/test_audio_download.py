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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- the browser modules on their own ---

RECORDER_JS = '''async () => {
  const { ConversationRecorder } = await import('voice-ui/audio/recorder.js');
  const { PlayedAudio } = await import('voice-ui/audio/played-audio.js');
  const pcm = (n, value) => new Int16Array(n).fill(value);
  let t = 1000;
  const notices = [];
  const onNotice = (m) => notices.push(m);
  const r = new ConversationRecorder({ maxSeconds: 10, maxGapSeconds: 1, now: () => t, onNotice });
  const out = {};
  r.sent(1, pcm(480, 1), { turn: 1, startedAt: 980 });  // the turn began at 980 ms
  t += 20; r.sent(1, pcm(480, 2)); t += 500; r.sent(1, pcm(480, 3));  // late: still contiguous
  out.contiguous = r.user.chunks.map((c) => c.at);
  r.heard(pcm(2400, 4), t + 400);                  // a reply batch that played from t + 300 to t + 400
  r.heard(pcm(240, 5), t + 420);                   // 10 ms later than contiguous: closed up
  r.heard(pcm(240, 6), t + 530);                   // after a 100 ms underrun: the gap is kept
  out.agent = r.agent.chunks.map((c) => c.at);
  t += 60_000; r.sent(2, pcm(480, 7));             // a minute of silence, shortened to 1 s
  out.afterPause = r.user.chunks.at(-1).at - r.agent.end;
  out.framesBefore = r.frames;
  const wav = new Uint8Array(r.wav());
  out.wav = Array.from(wav.subarray(0, 44 + 16));
  out.wavBytes = wav.length;
  for (let i = 0; i < 30; i++) { t += 1000; r.sent(3, pcm(24000, 8)); }  // 30 s more: past the 10 s cap
  out.afterCap = r.summary();
  out.notices = notices;
  r.reset();
  out.empty = r.wav();
  // What the player really played: 300 queued, 150 played, a flush (120 never played), then a new reply.
  const rec = new ConversationRecorder({ now: () => 0 });
  const played = new PlayedAudio(rec);
  const seq = (from, n) => Int16Array.from({ length: n }, (_, i) => from + i);
  played.queued(seq(0, 100)); played.queued(seq(100, 100)); played.queued(seq(200, 100));
  played.report({ type: 'progress', totalFrames: 150 }, 10);
  played.flushing();
  played.queued(seq(1000, 100));                   // pushed after the flush was posted: it will play
  played.report({ type: 'drained', flushed: true, totalFrames: 180 }, 12);
  played.report({ type: 'progress', totalFrames: 230 }, 100);    // a new reply's first sound: by the clock
  played.report({ type: 'progress', totalFrames: 270 }, 500);    // flowing on: right after, whatever the clock
  played.report({ type: 'progress', totalFrames: 280, totalUnderruns: 1 }, 700);  // after an underrun: clock
  out.heard = rec.agent.chunks.map((c) => Array.from(c.pcm));
  out.heardAt = rec.agent.chunks.map((c) => c.at);
  out.pending = played.pending;
  return out;
}'''


def test_the_recorder_places_both_sides_on_one_bounded_timeline(voice):
    out = voice.page.evaluate(RECORDER_JS)
    assert out['contiguous'] == [0, 480, 960], out['contiguous']  # one turn: sample after sample, however late
    position = lambda ms: (ms - 980) * FRAMES_PER_MS  # noqa: E731 - the first chunk ended at 1000 ms: frame 0 at 980
    t = 1520
    assert out['agent'] == [position(t + 400) - 2400, position(t + 400), position(t + 530) - 240], out['agent']
    assert out['afterPause'] == 1000 * FRAMES_PER_MS, out['afterPause']  # the long silence became 1 s
    header = bytes(out['wav'][:44])
    assert header[:4] == b'RIFF' and header[8:16] == b'WAVEfmt ' and header[36:40] == b'data'
    with wave.open(io.BytesIO(bytes(out['wav']) + bytes(out['wavBytes'] - len(out['wav'])))) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, RATE)
        assert wav.getnframes() == out['framesBefore']
    assert list(np.frombuffer(bytes(out['wav'][44:]), dtype='<i2')) == [1, 0, 1, 0, 1, 0, 1, 0], 'user is left'
    cap = out['afterCap']
    assert cap['capped'] and cap['frames'] == 10 * RATE and cap['userFrames'] <= 10 * RATE, cap
    assert len(out['notices']) == 1 and 'last 10 seconds' in out['notices'][0], out['notices']
    assert out['empty'] is None
    heard = out['heard']
    assert heard[0] == list(range(150)), 'the played part of the first reply'
    assert heard[1] == list(range(150, 180)), 'played before the flush took effect'
    assert heard[2] == list(range(1000, 1050)), 'after the flush: the new reply, not the dropped samples'
    assert heard[3:] == [list(range(1050, 1090)), list(range(1090, 1100))]
    # frame 0 = 150 samples before 10 ms; a drain (the flush) or an underrun restarts the placement by the clock
    assert out['heardAt'] == [0, 150, round(90 * FRAMES_PER_MS + 100), 2260 + 50, round(690 * FRAMES_PER_MS + 140)]
    assert out['pending'] == 0


RECORDER_INVARIANTS_JS = '''async (steps) => {
  const { ConversationRecorder } = await import('voice-ui/audio/recorder.js');
  let t = 0;
  const notices = [];
  const onNotice = (m) => notices.push(m);
  const r = new ConversationRecorder({ maxSeconds: 2, maxGapSeconds: 0.5, now: () => t, onNotice });
  const problems = [];
  for (const [kind, turn, frames, dt, continuous] of steps) {
    t += dt;
    const pcm = new Int16Array(frames).fill(turn + 1);
    if (kind === 'sent') r.sent(turn, pcm, { turn, startedAt: t - dt / 2 });
    else r.heard(pcm, t, continuous);
    for (const [name, track] of [['user', r.user], ['agent', r.agent]]) {
      let end = r.start;
      let kept = 0;
      for (const c of track.chunks.slice(track.head)) {
        if (c.at < end) problems.push(`${name}: a chunk at ${c.at} overlaps or precedes ${end}`);
        end = c.at + c.pcm.length;
        kept += c.pcm.length;
      }
      if (kept !== track.frames) problems.push(`${name}: counts ${track.frames} frames but holds ${kept}`);
      if (kept > r.maxFrames) problems.push(`${name}: ${kept} frames over the cap`);
    }
    if (r.frames > r.maxFrames) problems.push(`timeline of ${r.frames} frames over the cap`);
  }
  const wav = r.wav();
  const bytes = wav ? wav.byteLength : 0;
  if (bytes !== (r.frames ? 44 + r.frames * 4 : 0)) problems.push(`a WAV of ${bytes} bytes for ${r.frames} frames`);
  if (notices.length > (r.capped ? 1 : 0)) problems.push(`${notices.length} notices`);
  return problems;
}'''

STEP = st.tuples(st.sampled_from(['sent', 'heard']), st.integers(0, 3), st.integers(1, 30_000),
                 st.floats(0, 5000), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(STEP, max_size=40))
def test_the_recording_stays_ordered_and_within_its_cap_whatever_comes(voice, steps):
    assert voice.page.evaluate(RECORDER_INVARIANTS_JS, [list(step) for step in steps]) == []


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
    # The person's side lasts as long as the turn was held (Start to Stop, plus the tail still in flight at Stop).
    held_ms, user_ms = stats['turnWallMs'], len(user) / FRAMES_PER_MS
    assert HOLD_S * 1000 - 150 <= user_ms and held_ms - 150 <= user_ms <= held_ms + PLACEMENT_MS, (user_ms, held_ms)


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
