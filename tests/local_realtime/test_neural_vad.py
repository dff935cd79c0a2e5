"""The neural (Silero VAD v6) turn detector: speech vs silence vs noise on the test recordings, the GA
parameters honoured, streaming equal to batch, large appends scored by a worker, memory bounded per session."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import unavailable
from voice_ui.local_realtime.neural_vad import INLINE_FRAMES, NeuralVad, ScoreVoice, unavailable_reason
from voice_ui.local_realtime.vad import EnergyVad
from voice_ui.pcm import float_to_pcm16, pcm16_to_float

from .serving import pcm_of, silence

LEAD_MS, TAIL_MS = 1000, 1500
# Where speech is in the 24 kHz references (20 ms energy frames above -45 dBFS): onset, end
SPEECH_MS = {'weather': (40, 2100), 'lights': (20, 1500), 'timer': (0, 1580)}
START_MARGIN_MS = 120  # the model needs a frame or two of speech; frames are 32 ms
END_MARGIN_MS = 200    # its probability trails off over a few frames after the last word


@pytest.fixture(autouse=True, scope='module')
def neural_model():
    if (reason := unavailable_reason()) is not None:
        unavailable(f'the neural VAD needs the speech extra: {reason}')


def utterance(name: str) -> bytes:
    return silence(LEAD_MS) + pcm_of(name) + silence(TAIL_MS)


def noise(ms: int, dbfs: float, seed: int = 7) -> bytes:
    rng = np.random.default_rng(seed)
    return float_to_pcm16(rng.standard_normal(24 * ms).astype(np.float32) * 10 ** (dbfs / 20))


def stream(vad, pcm: bytes, chunk_ms: int = 40) -> list:
    """Feed like a real-time client, in `chunk_ms` appends; returns every decided change."""
    step = chunk_ms * 48
    return [change for start in range(0, len(pcm), step) for change in vad.feed(pcm[start:start + step])]


@pytest.mark.parametrize('name', sorted(SPEECH_MS))
def test_a_spoken_turn_starts_and_ends_where_the_speech_is(name):
    onset, end = SPEECH_MS[name]
    changes = stream(NeuralVad(0.5, 300, 500), utterance(name))
    assert [change.kind for change in changes] == ['started', 'stopped']
    started, stopped = changes[0].ms, changes[1].ms
    assert abs(started - (LEAD_MS + onset - 300)) <= START_MARGIN_MS, changes
    assert abs(stopped - (LEAD_MS + end + 500)) <= END_MARGIN_MS, changes


def test_silence_and_noise_are_not_speech_though_noise_fools_the_energy_detector():
    assert stream(NeuralVad(), silence(3000)) == []
    loud_noise = noise(3000, -25)
    assert stream(NeuralVad(), loud_noise) == []
    assert [change.kind for change in stream(EnergyVad(), loud_noise)][:1] == ['started']  # why it exists


def test_speech_in_noise_is_still_found():
    speech = pcm16_to_float(utterance('lights'))
    mixed = float_to_pcm16(speech + pcm16_to_float(noise(len(speech) // 24 + 1, -35))[:speech.size])
    changes = stream(NeuralVad(), mixed)
    assert [change.kind for change in changes] == ['started', 'stopped']
    assert abs(changes[0].ms - (LEAD_MS + SPEECH_MS['lights'][0] - 300)) <= START_MARGIN_MS


def test_silence_duration_decides_whether_a_pause_ends_the_turn():
    """'hello world, what is the weather today' has a ~250 ms pause after 'world'."""
    assert [c.kind for c in stream(NeuralVad(0.5, 300, 700), utterance('weather'))] == ['started', 'stopped']
    short = stream(NeuralVad(0.5, 300, 150), utterance('weather'))
    assert [c.kind for c in short] == ['started', 'stopped'] * 2, short
    long_ms = stream(NeuralVad(0.5, 300, 1200), utterance('weather'))[1].ms
    assert long_ms - stream(NeuralVad(0.5, 300, 700), utterance('weather'))[1].ms == pytest.approx(500, abs=40)


def test_prefix_padding_and_threshold_are_honoured():
    padded = stream(NeuralVad(0.5, 600, 500), utterance('timer'))[0].ms
    bare = stream(NeuralVad(0.5, 0, 500), utterance('timer'))[0].ms
    assert bare - padded == 600
    assert stream(NeuralVad(1.0, 300, 500), utterance('timer')) == []  # no probability reaches 1.0
    eager = stream(NeuralVad(0.05, 0, 500), utterance('timer'))[0].ms
    assert eager <= bare  # a lower threshold can only start sooner


def test_origin_and_reset_keep_the_session_timeline():
    vad = NeuralVad(0.5, 300, 500, origin_ms=10_000)
    first = stream(vad, utterance('lights'))
    assert first[0].ms > 10_000
    vad.reset(50_000)
    again = stream(vad, utterance('lights'))
    assert [c.ms - 40_000 for c in again] == [c.ms for c in first]  # a reset starts the stream afresh


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 9000), min_size=1, max_size=40))
def test_any_chunking_decides_the_same_as_one_stream(cuts):
    """Appends of any size (odd bytes too) give the decisions of 40 ms appends: no frame is lost or read twice."""
    pcm = utterance('lights')
    reference = stream(NeuralVad(), pcm)
    vad, changes, position = NeuralVad(), [], 0
    for cut in cuts:
        size = min(cut, INLINE_FRAMES * 32 * 48)  # inline-sized: the worker path is tested below
        changes += vad.feed(pcm[position:position + size])
        position += size
    changes += stream(vad, pcm[position:])
    assert [(c.kind, c.ms) for c in changes] == [(c.kind, c.ms) for c in reference]


def test_a_large_append_waits_for_a_worker_and_decides_the_same():
    pcm = utterance('weather')
    vad = NeuralVad()
    assert vad.feed(pcm) == []           # too much for the event loop: queued
    job = vad.take_work()
    assert isinstance(job, ScoreVoice) and vad.take_work() is None  # one job in flight at a time
    assert vad.feed(silence(40)) == []  # later audio waits behind it, in order
    changes = vad.scored(job, job.run())
    while (job := vad.take_work()) is not None:
        changes += vad.scored(job, job.run())
    assert [(c.kind, c.ms) for c in changes] == [(c.kind, c.ms) for c in stream(NeuralVad(), pcm + silence(40))]


def test_a_job_of_a_reset_detector_counts_for_nothing():
    vad = NeuralVad()
    vad.feed(utterance('weather'))
    job = vad.take_work()
    vad.reset(0)
    assert vad.scored(job, job.run()) == [] and not vad.speaking and vad.backlog_bytes == 0


def test_state_per_session_stays_small_however_long_it_listens():
    vad = NeuralVad()
    for _ in range(20):  # ~100 s of speech and silence
        stream(vad, utterance('timer'), chunk_ms=100)
    assert vad.backlog_bytes == 0 and vad.in_flight is None
    state = vad.state
    assert state.tail.size < 512 and state.context.size == 64 and state.h.size == state.c.size == 128
