"""Turn detection as the engine and the server use it: which detector a session gets, the neural one driving
GA turns (inline and through a worker), bad parameters refused, semantic_vad's eagerness mapping."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import unavailable
from voice_ui.local_realtime.limits import ServerLimits
from voice_ui.local_realtime.neural_vad import NeuralVad, ScoreVoice, unavailable_reason
from voice_ui.local_realtime.server_agent import EchoAgent
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.local_realtime.turn_detectors import (EAGERNESS_SILENCE_MS, choose_vad, describe_vad,
                                                    detector_settings)
from voice_ui.local_realtime.turn_events import voice_scored
from voice_ui.local_realtime.vad import EnergyVad
from voice_ui.local_realtime.engine import RealtimeEngine
from voice_ui.protocol import ServerEvent

from .serving import API_KEY, open_session, pcm_of, serve, silence
from .test_engine import MANUAL, Harness

NEURAL = EngineOptions(pacing=Pacing.BURST, vad='neural')


@pytest.fixture
def neural():
    if (reason := unavailable_reason()) is not None:
        unavailable(f'the neural VAD needs the speech extra: {reason}')


class VadHarness(Harness):
    """Runs the engine's voice-scoring work the way the transport does (in order, results fed back)."""

    def perform(self, work) -> None:
        if isinstance(work, ScoreVoice):
            voice_scored(self.engine, work, work.run(), self.now)
            return self.poll()
        super().perform(work)

    def turn_detection(self, turn_detection: dict | None) -> None:
        self.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {'input': {
            'turn_detection': turn_detection}}}})

    def append(self, pcm: bytes, chunk_ms: int = 40) -> None:
        step = chunk_ms * 48
        for start in range(0, len(pcm), step):
            piece = base64.b64encode(pcm[start:start + step]).decode()
            self.send({'type': 'input_audio_buffer.append', 'audio': piece})


def spoken(name: str = 'lights') -> bytes:
    return silence(800) + pcm_of(name) + silence(1200)


def test_a_server_picks_neural_for_an_agent_that_listens_and_energy_otherwise(neural):
    class Listening(EchoAgent):
        listens = True
    assert choose_vad('auto', EchoAgent(), {}) == 'energy'  # tone-speaking tests keep a detector that hears tones
    assert choose_vad('auto', Listening(), {}) == 'neural'  # an agent that really hears gets Silero by default
    assert choose_vad('neural', Listening(), {'VOICE_UI_VAD': 'energy'}) == 'energy'
    assert choose_vad('auto', EchoAgent(), {'VOICE_UI_VAD': ' Neural '}) == 'neural'
    with pytest.raises(ValueError, match='VOICE_UI_VAD must be one of'):
        choose_vad('auto', EchoAgent(), {'VOICE_UI_VAD': 'silero!\n' * 50})
    assert LocalRealtimeConfig(api_keys={'k'}, agent=Listening(), engine=NEURAL).engine.vad == 'neural'
    assert 'Silero' in describe_vad('neural') and 'energy' in describe_vad('energy')


def test_sessions_get_the_configured_detector(neural):
    assert isinstance(RealtimeEngine({**MANUAL, 'id': 's'}, 0.0, NEURAL).audio.detector_kind, str)
    harness = VadHarness(NEURAL)
    harness.turn_detection({'type': 'server_vad', 'threshold': 0.7, 'silence_duration_ms': 250})
    vad = harness.engine.audio.vad
    assert isinstance(vad, NeuralVad) and (vad.threshold, vad.silence_duration_ms) == (0.7, 250)
    assert isinstance(VadHarness().engine.audio.vad or EnergyVad(), EnergyVad)


def test_a_spoken_turn_over_neural_vad_commits_and_is_answered(neural):
    harness = VadHarness(NEURAL)
    harness.turn_detection({'type': 'server_vad'})
    harness.append(spoken())
    types = harness.types()
    assert types.count(ServerEvent.SPEECH_STARTED) == types.count(ServerEvent.SPEECH_STOPPED) == 1
    assert types.index(ServerEvent.SPEECH_STOPPED) < types.index(ServerEvent.INPUT_AUDIO_COMMITTED)
    assert ServerEvent.RESPONSE_DONE in types
    stopped = harness.of_type(ServerEvent.SPEECH_STOPPED)[0][1]
    started = harness.of_type(ServerEvent.SPEECH_STARTED)[0][1]
    assert started['item_id'] == stopped['item_id']
    assert 300 < started['audio_start_ms'] < 800 < 2300 < stopped['audio_end_ms'] < 2900


def test_a_large_append_is_scored_by_a_worker_with_the_same_turn(neural):
    inline, worker = VadHarness(NEURAL), VadHarness(NEURAL)
    for harness in (inline, worker):
        harness.turn_detection({'type': 'server_vad'})
    inline.append(spoken())
    worker.run_work = False
    worker.append(spoken(), chunk_ms=5000)
    assert ServerEvent.SPEECH_STARTED not in worker.types()  # nothing decided on the event loop
    assert [type(work) for work in worker.work] == [ScoreVoice]
    worker.run_work = True
    worker.perform(worker.work.pop())
    def marks(harness):
        return [(e['type'], e.get('audio_start_ms', e.get('audio_end_ms'))) for _, e in harness.sent
                if e['type'] in (ServerEvent.SPEECH_STARTED, ServerEvent.SPEECH_STOPPED)]
    assert len(marks(worker)) == 2 and marks(worker) == marks(inline)


def test_audio_waiting_for_voice_detection_is_bounded(neural):
    cap = 2 * 24_000 * 2 * 5  # 10 s of audio
    harness = VadHarness(NEURAL)
    harness.engine.limits = ServerLimits(max_input_buffer_bytes=cap)
    harness.turn_detection({'type': 'server_vad'})
    harness.run_work = False  # the worker never answers
    harness.append(silence(6000), chunk_ms=6000)
    harness.append(silence(6000), chunk_ms=6000)
    errors = harness.of_type(ServerEvent.ERROR)
    assert len(errors) == 1 and 'wait for voice detection' in errors[0][1]['error']['message']
    assert harness.engine.audio.vad.backlog_bytes <= cap


BAD_SETTINGS = [
    ({'type': 'server_vad', 'threshold': 1.5}, 'threshold'),
    ({'type': 'server_vad', 'threshold': 'high'}, 'threshold'),
    ({'type': 'server_vad', 'silence_duration_ms': -1}, 'silence_duration_ms'),
    ({'type': 'server_vad', 'prefix_padding_ms': 10.5}, 'prefix_padding_ms'),
    ({'type': 'server_vad', 'eagerness': 'low'}, 'eagerness'),
    ({'type': 'semantic_vad', 'threshold': 0.5}, 'threshold'),
    ({'type': 'semantic_vad', 'eagerness': 'eager'}, 'eagerness'),
    ({'type': 'neural_vad'}, 'type'),
]


@pytest.mark.parametrize(('setting', 'param'), BAD_SETTINGS)
def test_bad_turn_detection_is_refused_with_a_ga_error_and_changes_nothing(neural, setting, param):
    harness = VadHarness(NEURAL)
    harness.turn_detection({'type': 'server_vad', 'silence_duration_ms': 333})
    before = harness.engine.audio.vad
    harness.turn_detection(setting)
    error = harness.of_type(ServerEvent.ERROR)[-1][1]['error']
    assert error['type'] == 'invalid_request_error' and param in (error['param'] or '')
    assert harness.engine.audio.vad is before and before.silence_duration_ms == 333


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(['type', 'threshold', 'prefix_padding_ms', 'silence_duration_ms',
                                        'eagerness', 'create_response']),
                       st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                                 st.sampled_from(['server_vad', 'semantic_vad', 'low', 'auto', 'x']))))
def test_any_turn_detection_is_applied_whole_or_refused_whole(setting):
    harness = VadHarness(EngineOptions(pacing=Pacing.BURST, vad='energy'))
    harness.turn_detection(setting)
    last = harness.sent[-1][1]
    current = harness.engine.turn_detection
    if last['type'] == ServerEvent.SESSION_UPDATED:
        assert current['type'] == setting['type'] and harness.engine.audio.vad is not None
        assert all(current[key] == value for key, value in setting.items())
    else:
        assert last['type'] == ServerEvent.ERROR and current is None and harness.engine.audio.vad is None


@pytest.mark.parametrize('eagerness', ['low', 'medium', 'high', 'auto'])
def test_semantic_vad_eagerness_sets_the_pause_that_ends_a_turn(eagerness):
    threshold, padding, pause = detector_settings({'type': 'semantic_vad', 'eagerness': eagerness})
    assert (threshold, padding, pause) == (0.5, 300, EAGERNESS_SILENCE_MS[eagerness])
    harness = VadHarness(EngineOptions(pacing=Pacing.BURST, vad='energy'))
    harness.turn_detection({'type': 'semantic_vad', 'eagerness': eagerness})
    assert harness.engine.audio.vad.silence_duration_ms == pause


def test_semantic_vad_eagerness_orders_how_soon_a_turn_ends(neural):
    assert EAGERNESS_SILENCE_MS['high'] < EAGERNESS_SILENCE_MS['medium'] == EAGERNESS_SILENCE_MS['auto'] \
        < EAGERNESS_SILENCE_MS['low']
    ends = {}
    for eagerness in ('high', 'low'):
        harness = VadHarness(NEURAL)
        harness.turn_detection({'type': 'semantic_vad', 'eagerness': eagerness})
        harness.append(silence(800) + pcm_of('timer') + silence(2000))
        ends[eagerness] = harness.of_type(ServerEvent.SPEECH_STOPPED)[0][1]['audio_end_ms']
    gap = EAGERNESS_SILENCE_MS['low'] - EAGERNESS_SILENCE_MS['high']
    assert ends['low'] - ends['high'] == pytest.approx(gap, abs=40)


async def test_a_served_session_scores_a_bulk_append_off_the_event_loop(neural):
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=NEURAL)
    with serve(config) as served:
        client = await open_session(served.url, {'type': 'realtime', 'audio': {'input': {
            'turn_detection': {'type': 'server_vad', 'create_response': False}}}})
        await client.append(spoken('weather'), chunk_ms=6000)  # one append of all of it
        kinds = []
        while ServerEvent.INPUT_AUDIO_COMMITTED not in kinds:
            kinds.append((await client.recv(timeout=30))['type'])
        assert [k for k in kinds if k.startswith('input_audio_buffer.')] == [
            ServerEvent.SPEECH_STARTED, ServerEvent.SPEECH_STOPPED, ServerEvent.INPUT_AUDIO_COMMITTED]
        await client.connection.close()
