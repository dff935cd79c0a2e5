"""The audio download's browser modules on their own, in real Chromium (served by the real app): where the recorder
places each side on the timeline, long pauses shortened, the cap (oldest audio dropped, one notice), the WAV it
writes, and how played-audio.js follows the player worklet's count through a flush; then, property-based, that
whatever audio comes in whatever order each side stays ordered and the recording within its cap."""
from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import voice_page
from .test_audio_download import app, realtime_server  # noqa: F401 (the echo server's app: no models to load)

RATE = 24_000
FRAMES_PER_MS = RATE // 1000


@pytest.fixture(scope='module')
def voice(playwright, chromium, app):  # noqa: F811
    with voice_page(playwright, chromium, 'weather', app.url) as voice:
        yield voice


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
