"""Property-based fuzzing: ≥ 10,000 generated client messages, plausible and malformed, across sessions.

Most go straight into sans-I/O engines (fast, a fake clock, agent work answered at once); the frame-level ones
also travel a real WebSocket. Properties: no session dies, every malformed message gets an `error` (echoing its
`event_id`), no handler ever fails (`server_error`), every server event validates against openai's GA types,
and a session fed only valid events beside the fuzzed ones behaves exactly as it does alone.
"""
from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol_validation import validate_server_event
from voice_ui.local_realtime.actions import Close, Respond, Send, Transcribe
from voice_ui.local_realtime.engine import RealtimeEngine
from voice_ui.local_realtime.limits import ServerLimits
from voice_ui.local_realtime.server_agent import Reply
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.local_realtime.session_schema import default_session

from .fuzz_events import Message, messages, raw_frames
from .serving import API_KEY, RealtimeClient, connect, mint, serve

REPLY = Reply('Fine, thank you.', b'\x01\x00' * 2400)
CONTROL = [{'type': 'session.update', 'session': {'type': 'realtime', 'audio': {'input': {'turn_detection': None}}}},
           {'type': 'input_audio_buffer.append', 'audio': base64.b64encode(b'\x10\x00' * 4800).decode()},
           {'type': 'input_audio_buffer.commit'},
           {'type': 'response.create'},
           {'type': 'conversation.item.create', 'item': {'type': 'message', 'role': 'user',
                                                         'content': [{'type': 'input_text', 'text': 'hi'}]}},
           {'type': 'input_audio_buffer.clear'}]
SETTINGS = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


class Session:
    """One engine driven like the transport does; agent work is answered at once."""

    def __init__(self, now: float = 0.0) -> None:
        session = {**default_session(), 'id': 'sess_fuzz'}
        self.engine = RealtimeEngine(session, now, EngineOptions(pacing=Pacing.BURST))
        self.events: list[dict] = []
        self.closed = False

    def send(self, data: str | bytes | dict, now: float) -> list[dict]:
        self.engine.receive(data, now)
        return self.poll(now)

    def poll(self, now: float) -> list[dict]:
        out: list[dict] = []
        for action in self.engine.poll(now):
            if isinstance(action, Send):
                json.dumps(action.event, allow_nan=False)  # what the transport sends must encode
                validate_server_event(action.event)
                out.append(action.event)
            elif isinstance(action, Close):
                self.closed = True
            elif isinstance(action, Transcribe):
                self.engine.transcription_ready(action.item_id, 'hello there', None, now)
                out += self.poll(now)
            elif isinstance(action, Respond):
                self.engine.reply_ready(action.response_id, REPLY, None, now)
                out += self.poll(now)
        self.events += out
        return out


def check_answer(message: Message, answer: list[dict]) -> None:
    errors = [e['error'] for e in answer if e['type'] == 'error']
    if message.bad:
        assert any(e['event_id'] == message.event_id and e['type'] == 'invalid_request_error' for e in errors), \
            (message, answer)
    assert not [e for e in errors if e['code'] == 'server_error'], (message, errors)  # no handler ever failed


def control_types() -> list[str]:
    session, now = Session(), 0.0
    session.poll(now)
    for event in CONTROL:
        now += 0.01
        session.send(json.dumps(event), now)
    return [e['type'] for e in session.events]


SENT = {'engine': 0, 'socket': 0}
ALONE = control_types()


@given(script=st.lists(messages, min_size=15, max_size=25),
       control_at=st.lists(st.integers(0, 14), min_size=len(CONTROL), max_size=len(CONTROL)))
@SETTINGS
def run_engine_script(script: list[Message], control_at: list[int]) -> None:
    """Each message goes to all three fuzzed sessions (each in its own state by then); a control session gets
    only valid events, interleaved."""
    sessions, control, now = [Session() for _ in range(3)], Session(), 0.0
    for session in (*sessions, control):
        session.poll(now)
    pending = list(zip(sorted(control_at), CONTROL, strict=True))
    control_clock = 0.0  # the control session keeps the clock it has alone: same inputs at the same times
    for position, message in enumerate(script):
        now += 0.01
        while pending and pending[0][0] <= position:
            control_clock += 0.01
            control.send(json.dumps(pending.pop(0)[1]), control_clock)
        for session in sessions[position % 3:] + sessions[:position % 3]:
            check_answer(message, session.send(message.data, now))
            SENT['engine'] += 1
    for _, event in pending:
        control_clock += 0.01
        control.send(json.dumps(event), control_clock)
    for session in sessions:
        assert not session.closed and not session.engine.closed
        assert [e['type'] for e in session.send('{"type": "input_audio_buffer.clear"}', now + 1)] == \
            ['input_audio_buffer.cleared']
    assert [e['type'] for e in control.events] == ALONE  # untouched by its neighbours' traffic


def test_fuzzed_events_never_kill_a_session():
    run_engine_script()
    assert SENT['engine'] >= 10_000


FRAME_LIMIT = 64 * 1024  # the WebSocket layer itself refuses twice that (close 1009)


@pytest.fixture(scope='module')
def small_frames():
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST),
                                 limits=ServerLimits(max_frame_bytes=FRAME_LIMIT))
    with serve(config) as served:
        yield served


frames = st.one_of(raw_frames.map(lambda data: Message(data, True)),
                   st.integers(FRAME_LIMIT + 1, 2 * FRAME_LIMIT - 100).map(
                       lambda n: Message('{"type": "input_audio_buffer.clear", "pad": "' + 'x' * n + '"}', True)),
                   messages.filter(lambda m: len(m.data) <= FRAME_LIMIT))


async def test_fuzzed_frames_over_a_real_socket(small_frames):
    """Text and binary frames (invalid UTF-8, oversized, deep, huge numbers) across three live sessions."""
    token = mint(small_frames.url).json()['value']
    clients = [RealtimeClient(await connect(small_frames.url, token)) for _ in range(3)]
    for client in clients:
        assert (await client.recv())['type'] == 'session.created'

    @given(script=st.lists(st.tuples(st.integers(0, 2), frames), min_size=10, max_size=20))
    @settings(max_examples=50, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    def batch(script):
        scripts.append(script)

    scripts: list = []
    batch()
    for number, (target, message) in enumerate(pair for script in scripts for pair in script):
        client = clients[target]
        await client.connection.send(message.data)
        # A probe only this session can answer, and only after the message: the session is alive and in order.
        probe = f'probe-{number}'
        await client.send_raw({'type': 'input_audio_buffer.clear', 'event_id': probe, 'probe': True})
        answer = []
        while not answer or answer[-1].get('error', {}).get('event_id') != probe:
            answer.append(await client.recv())
        check_answer(message, answer[:-1])
        SENT['socket'] += 2
    for client in clients:
        await client.connection.close()
    assert SENT["socket"] >= 800


def test_at_least_ten_thousand_events_were_sent():
    """The two fuzz tests above together (pytest runs a module's tests in order)."""
    if not SENT['engine'] or not SENT['socket']:
        pytest.skip('run with the fuzz tests above')
    assert SENT['engine'] + SENT['socket'] >= 10_000
