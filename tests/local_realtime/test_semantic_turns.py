"""semantic_vad's pause rule with the end-of-turn model (semantic_turns.py), the model's verdict given by the
test: a finished turn ends at the short pause, an unfinished one at eagerness's long pause, speech resuming
voids a late verdict, a reset or a new turn_detection voids one in flight; hostile verdicts; bounded memory."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_ui.local_realtime.end_of_turn import ScoreTurn, choose_turn_model, describe_turn_model
from voice_ui.local_realtime.semantic_turns import MODEL_WAIT_MS, SHORT_PAUSE_MS, WINDOW_MS, SemanticTurns
from voice_ui.local_realtime.server_agent import EchoAgent
from voice_ui.local_realtime.server_config import EngineOptions, Pacing
from voice_ui.local_realtime.turn_detectors import new_detector
from voice_ui.local_realtime.turn_events import voice_failed, voice_scored
from voice_ui.local_realtime.vad import EnergyVad
from voice_ui.protocol import BYTES_PER_MS, ServerEvent

from .test_turn_detectors import VadHarness

SEMANTIC = {'type': 'semantic_vad', 'eagerness': 'auto', 'create_response': False}


def tone(ms: int) -> bytes:
    t = np.arange(ms * 24) / 24_000
    return (np.sin(2 * np.pi * 220 * t) * 8000).astype('<i2').tobytes()


def quiet(ms: int) -> bytes:
    return b'\0\0' * 24 * ms


def detector(eagerness: str = 'auto') -> SemanticTurns:
    made = new_detector('energy', {'type': 'semantic_vad', 'eagerness': eagerness}, 0, 'smart-turn')
    assert isinstance(made, SemanticTurns) and made.inner.silence_duration_ms == SHORT_PAUSE_MS
    return made


def near(ms: int, expected: int) -> bool:
    """Within one 20 ms frame after `expected`: pauses are counted in whole frames."""
    return 0 <= ms - expected <= 20


def feed(vad: SemanticTurns, pcm: bytes, chunk_ms: int = 20) -> list:
    step = chunk_ms * BYTES_PER_MS
    return [e for start in range(0, len(pcm), step) for e in vad.feed(pcm[start:start + step])]


def test_without_the_model_semantic_vad_is_the_eagerness_pause_and_with_it_the_pause_rule():
    plain = new_detector('energy', {'type': 'semantic_vad', 'eagerness': 'low'}, 0, 'none')
    assert isinstance(plain, EnergyVad) and plain.silence_duration_ms == 1400
    server = new_detector('energy', {'type': 'server_vad'}, 0, 'smart-turn')
    assert isinstance(server, EnergyVad) and server.silence_duration_ms == 500  # server_vad never judges
    assert [detector(e).long_pause_ms for e in ('high', 'medium', 'auto', 'low')] == [1000, 2000, 2000, 4000]


def test_a_complete_verdict_ends_the_turn_at_the_short_pause():
    vad = detector()
    assert [e.kind for e in feed(vad, quiet(500) + tone(1000))] == ['started']
    assert feed(vad, quiet(300)) == [] and vad.speaking  # the pause is being judged: the turn is not over
    job = vad.take_work()
    assert isinstance(job, ScoreTurn) and vad.take_work() is None  # one judgement out at a time
    # the turn's audio (from its padded start) up to the short pause, ~250 ms of it silence
    assert len(job.pcm) == (job.end_ms - 200) * BYTES_PER_MS and near(job.end_ms, 1500 + SHORT_PAUSE_MS)
    [stopped] = vad.scored(job, 0.93)
    assert stopped.kind == 'stopped' and stopped.ms == vad.position_ms == 1800 and not vad.speaking
    assert feed(vad, quiet(3000)) == []  # and the long pause does not end it a second time


def test_an_incomplete_verdict_waits_for_eagerness_long_pause():
    for eagerness in ('high', 'auto', 'low'):
        vad = detector(eagerness)
        feed(vad, quiet(500) + tone(1000) + quiet(300))
        assert vad.scored(vad.take_work(), 0.2) == []
        wait = MODEL_WAIT_MS[eagerness]
        assert feed(vad, quiet(wait - 400)) == [] and vad.speaking
        [stopped] = feed(vad, quiet(200))
        assert stopped.kind == 'stopped' and near(stopped.ms, 1500 + wait)  # counted from the pause's start


def test_speech_resuming_voids_the_verdict_and_the_turn_goes_on():
    vad = detector()
    feed(vad, quiet(500) + tone(1000) + quiet(300))
    job = vad.take_work()
    assert feed(vad, tone(400)) == []  # the same turn: no second speech_started
    assert vad.scored(job, 0.99) == [] and vad.speaking  # too late: the user went on
    feed(vad, quiet(300))
    second = vad.take_work()
    assert second is not job and len(second.pcm) > len(job.pcm)  # the whole turn so far is judged
    assert [e.kind for e in vad.scored(second, 0.99)] == ['stopped']


def test_a_new_pause_is_judged_only_once_the_worker_is_back_with_the_void_judgement():
    vad = detector()
    feed(vad, quiet(500) + tone(1000) + quiet(300))
    void = vad.take_work()
    feed(vad, tone(400) + quiet(300))  # the user went on and paused again while the worker was busy
    assert vad.take_work() is None  # never two inferences for one session at once
    assert vad.scored(void, 0.99) == []
    second = vad.take_work()
    assert isinstance(second, ScoreTurn) and second.end_ms > void.end_ms
    assert [e.kind for e in vad.scored(second, 0.99)] == ['stopped']


def test_a_long_pause_that_ends_the_turn_first_makes_the_verdict_late():
    vad = detector('high')
    feed(vad, quiet(500) + tone(1000) + quiet(300))
    job = vad.take_work()
    assert [e.kind for e in feed(vad, quiet(800))] == ['stopped']
    assert vad.scored(job, 0.99) == []


def test_speech_after_the_long_pause_is_a_new_turn_even_in_one_append():
    vad = detector('high')
    events = vad.feed(quiet(500) + tone(1000) + quiet(1500) + tone(600))
    assert [e.kind for e in events] == ['started', 'stopped', 'started']
    assert near(events[1].ms, 1500 + 1000) and events[2].ms == 3000 - 300


def test_reset_and_failures_void_a_judgement_in_flight():
    vad = detector()
    feed(vad, quiet(500) + tone(1000) + quiet(300))
    job = vad.take_work()
    vad.reset(5000)
    assert vad.scored(job, 0.99) == [] and not vad.speaking and vad.position_ms == 5000
    feed(vad, tone(600) + quiet(300))
    failing = vad.take_work()
    vad.job_failed(failing, vad.position_ms)  # a broken model: the long pause decides
    assert vad.speaking and vad.scored(failing, 0.99) == []
    [stopped] = feed(vad, quiet(2000))
    assert near(stopped.ms, 5000 + 600 + 2000)


@pytest.mark.parametrize('verdict', [math.nan, math.inf, -1.0, 0.5, None, 'yes', object(), b'\xff', 10**400])
def test_hostile_verdicts_count_as_unfinished(verdict):
    vad = detector()
    feed(vad, quiet(500) + tone(1000) + quiet(300))
    job = vad.take_work()
    assert isinstance(job, ScoreTurn) and vad.scored(job, verdict) == [] and vad.speaking
    assert vad.take_work() is None  # that judgement is spent: the long pause decides


class ModelHarness(VadHarness):
    """The engine with semantic_vad's model, the verdict given by the test (`verdict`), run as the transport
    runs it (off the pump, the result fed back); `hold` keeps judgements back to answer later."""

    def __init__(self, verdict: float = 0.9) -> None:
        super().__init__(EngineOptions(pacing=Pacing.BURST, vad='energy', turn_model='smart-turn'))
        self.verdict, self.hold, self.held = verdict, False, []

    def perform(self, work) -> None:
        if not isinstance(work, ScoreTurn):
            return super().perform(work)
        if self.hold:
            return self.held.append(work)
        voice_scored(self.engine, work, self.verdict, self.now)
        self.poll()


def stops(harness: VadHarness) -> list[int]:
    return [e['audio_end_ms'] for _, e in harness.of_type(ServerEvent.SPEECH_STOPPED)]


def test_the_engine_commits_a_finished_turn_at_the_short_pause_and_an_unfinished_one_later():
    fast, slow = ModelHarness(0.9), ModelHarness(0.1)
    for harness in (fast, slow):
        harness.turn_detection(SEMANTIC)
        harness.append(quiet(500) + tone(1000) + quiet(2500))
        assert isinstance(harness.engine.audio.vad, SemanticTurns)
    assert stops(fast) and stops(fast)[0] - 1500 in range(SHORT_PAUSE_MS, SHORT_PAUSE_MS + 50)
    assert len(stops(slow)) == 1 and near(stops(slow)[0], 1500 + MODEL_WAIT_MS['auto'])
    for harness in (fast, slow):
        assert len(harness.of_type(ServerEvent.INPUT_AUDIO_COMMITTED)) == 1


def test_a_new_turn_detection_or_a_clear_voids_a_judgement_the_worker_still_makes():
    harness = ModelHarness(0.9)
    harness.turn_detection(SEMANTIC)
    harness.hold = True
    harness.append(quiet(500) + tone(1000) + quiet(300))
    assert len(harness.held) == 1 and isinstance(harness.engine.audio.vad, SemanticTurns)
    harness.turn_detection({**SEMANTIC, 'eagerness': 'low'})  # a new detector: the old judgement is nobody's
    harness.send({'type': 'input_audio_buffer.clear'})
    for job in harness.held:
        voice_scored(harness.engine, job, 0.99, harness.now)
        voice_failed(harness.engine, job, harness.now)
    harness.poll()
    assert stops(harness) == [] and harness.of_type(ServerEvent.INPUT_AUDIO_COMMITTED) == []


def test_the_auto_choice_needs_a_listening_agent_and_a_bad_value_is_refused():
    class Listening(EchoAgent):
        listens = True
    assert choose_turn_model('auto', EchoAgent(), {}) == 'none'  # tones have no words to judge
    assert choose_turn_model('smart-turn', Listening(), {'VOICE_UI_TURN_MODEL': ' None '}) == 'none'
    with pytest.raises(ValueError, match='VOICE_UI_TURN_MODEL must be one of'):
        choose_turn_model('auto', Listening(), {'VOICE_UI_TURN_MODEL': 'smart\n' * 40})
    assert 'smart-turn' in describe_turn_model('smart-turn') and 'no end-of-turn' in describe_turn_model('none')


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['tone', 'quiet', 'noise', 'verdict', 'fail', 'reset']),
                          st.integers(0, 3000), st.floats(allow_nan=True)), max_size=30))
def test_random_audio_pauses_and_verdicts_never_break_the_detector_and_memory_stays_bounded(steps):
    vad, rng = detector(), np.random.default_rng(0)
    last_stop = -1
    for what, ms, prob in steps:
        if what == 'verdict' or what == 'fail':
            job = vad.take_work()
            if job is not None:
                events = vad.scored(job, prob) if what == 'verdict' else (vad.job_failed(job, vad.position_ms) or [])
            else:
                events = []
        elif what == 'reset':
            vad.reset(vad.position_ms + ms)
            events = []
        else:
            pcm = tone(ms) if what == 'tone' else quiet(ms) if what == 'quiet' else \
                rng.integers(-2**15, 2**15, ms * 24, dtype=np.int16).astype('<i2').tobytes()
            events = vad.feed(pcm + b'\x01' * (ms % 2))  # odd bytes too
        for event in events:
            assert event.kind in ('started', 'stopped') and event.ms <= vad.position_ms
            if event.kind == 'stopped':
                assert event.ms > last_stop
                last_stop = event.ms
        assert len(vad.recent) <= (WINDOW_MS + 3100) * BYTES_PER_MS  # the window and one append at most


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just('speak'), st.integers(20, 1500)), st.tuples(st.just('pause'), st.integers(20, 4500)),
    st.tuples(st.just('answer'), st.one_of(st.floats(allow_nan=True), st.none(), st.text(max_size=3))),
    st.tuples(st.just('fail'), st.none()), st.tuples(st.just('clear'), st.none()),
    st.tuples(st.just('commit'), st.none()),
    st.tuples(st.just('eagerness'), st.sampled_from(['low', 'medium', 'high', 'auto', None]))), max_size=25))
def test_a_session_survives_any_order_of_audio_verdicts_failures_and_updates(steps):
    """Judgements answered late, twice, after a clear or a new detector, failing, or with junk: the engine
    never fails (no `server_error`), every event it sends is GA-valid (Harness.poll checks), one speech_stopped
    per turn at most, and the detector's memory stays bounded."""
    harness = ModelHarness()
    harness.turn_detection(SEMANTIC)
    harness.hold, failures = True, 0
    for what, value in steps:
        if what in ('speak', 'pause'):
            harness.append(tone(value) if what == 'speak' else quiet(value), chunk_ms=100)
        elif what in ('answer', 'fail') and harness.held:
            job = harness.held.pop(0)
            if what == 'answer':
                voice_scored(harness.engine, job, value, harness.now)
            else:
                voice_failed(harness.engine, job, harness.now)
                failures += 1
            harness.poll()
        elif what in ('clear', 'commit'):
            harness.send({'type': f'input_audio_buffer.{what}'})
        elif what == 'eagerness':
            harness.turn_detection({**SEMANTIC, 'eagerness': value} if value else SEMANTIC)
        vad = harness.engine.audio.vad
        assert isinstance(vad, SemanticTurns) and len(vad.recent) <= (WINDOW_MS + 1000) * BYTES_PER_MS
    server_errors = [e for _, e in harness.of_type(ServerEvent.ERROR) if e['error']['type'] == 'server_error']
    assert len(server_errors) == failures  # only the failures the test made: nothing in the engine broke
    starts, stops = (len(harness.of_type(kind)) for kind in (ServerEvent.SPEECH_STARTED, ServerEvent.SPEECH_STOPPED))
    assert stops <= starts


def test_the_standalone_server_refuses_a_bad_turn_model_with_a_message(monkeypatch):
    from voice_ui.local_realtime.__main__ import main
    monkeypatch.setenv('VOICE_UI_TURN_MODEL', 'smart-turn-v9')
    with pytest.raises(SystemExit, match='VOICE_UI_TURN_MODEL must be one of auto, smart-turn, none'):
        main(['--agent', 'echo', '--api-key', 'k', '--port', '1'])
