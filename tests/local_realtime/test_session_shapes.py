"""Any `session.update` (or minted session) of GA-shaped, null, unusual or wrong values: refused with an `error`,
or applied so that every event echoing the session is GA-valid and a response still runs in it."""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.protocol_validation import validate_client_secret, validate_server_event
from voice_ui.local_realtime.engine import RealtimeEngine
from voice_ui.local_realtime.tokens import TokenStore

from .test_engine import Harness

API_KEY = 'sk-shapes'
junk = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(['', 'x', 'auto', {}, [], {'type': 'x'}])
prompts = st.sampled_from([{'id': 'pmpt_1'}, {'id': 'pmpt_1', 'version': '3', 'variables': {'city': 'Paris'}},
                           {'id': 'p', 'variables': {'img': {'type': 'input_image', 'image_url': 'data:,'}}},
                           {}, {'id': 5}, {'id': 'p', 'variables': {'a': 1}}, {'id': 'p', 'extra': 1}])
truncations = st.sampled_from(['auto', 'disabled', {'type': 'retention_ratio', 'retention_ratio': 0.5},
                               {'type': 'retention_ratio', 'retention_ratio': 0.8,
                                'token_limits': {'post_instructions': 1000}},
                               {}, {'type': 'retention_ratio'}, {'type': 'retention_ratio', 'retention_ratio': 'x'},
                               {'type': 'retention_ratio', 'retention_ratio': 2}])
tracings = st.sampled_from(['auto', {'workflow_name': 'w', 'group_id': 'g', 'metadata': {'k': 1}}, {},
                            {'workflow_name': 5}, {'unknown': 1}])
reasonings = st.sampled_from([{'effort': 'low'}, {'effort': None}, {}, {'effort': 'ultra'}, {'x': 1}])
includes = st.sampled_from([['item.input_audio_transcription.logprobs'], [], ['foo'], [1]])
formats = st.sampled_from([{'type': 'audio/pcm', 'rate': 24000}, {'type': 'audio/pcm'}, {'type': 'audio/pcmu'},
                           {'type': 'audio/pcma'}, {'type': 'audio/pcm', 'rate': 8000}, {}, {'type': None}])
turns = st.sampled_from([{'type': 'server_vad', 'threshold': 0.3}, {'type': 'semantic_vad', 'eagerness': 'low'},
                         {'type': 'server_vad', 'idle_timeout_ms': 6000}, {'type': 'server_vad', 'threshold': None}])
FIELDS = {
    'instructions': st.text(max_size=5), 'model': st.sampled_from(['gpt-realtime', 'gpt-realtime-mini']),
    'output_modalities': st.sampled_from([['audio'], ['text'], ['audio', 'text'], []]),
    'max_output_tokens': st.sampled_from(['inf', 1, 4096, 0, 'infinite']),
    'tools': st.sampled_from([[], [{'type': 'function', 'name': 'f', 'parameters': {'type': 'object'}}], [{}]]),
    'tool_choice': st.sampled_from(['auto', 'none', 'required', {'type': 'function', 'name': 'f'}]),
    'prompt': prompts, 'truncation': truncations, 'tracing': tracings, 'reasoning': reasonings,
    'include': includes, 'parallel_tool_calls': st.booleans(),
    'audio': st.fixed_dictionaries({}, optional={
        'input': st.none() | st.fixed_dictionaries({}, optional={
            'format': st.none() | formats, 'turn_detection': st.none() | turns,
            'transcription': st.none() | st.just({'model': 'whisper-1', 'language': 'fr'}),
            'noise_reduction': st.none() | st.sampled_from([{'type': 'far_field'}, {}])}),
        'output': st.none() | st.fixed_dictionaries({}, optional={
            'format': st.none() | formats, 'voice': st.sampled_from(['cedar', 'marin']),
            'speed': st.sampled_from([0.25, 1.5])})}),
}
patches = st.fixed_dictionaries({'type': st.just('realtime')},
                                optional={name: values | junk for name, values in FIELDS.items()})


def say_hello_and_answer(harness: Harness) -> list[dict]:
    start = len(harness.sent)
    harness.send({'type': 'conversation.item.create', 'item': {'type': 'message', 'role': 'user', 'content': [
        {'type': 'input_text', 'text': 'hello'}]}})
    harness.send({'type': 'response.create'})
    harness.advance_to(harness.now + 60)
    return [event for _, event in harness.sent[start:]]


@settings(max_examples=300, deadline=None)
@given(patches)
def test_a_session_update_is_refused_or_leaves_a_valid_session_a_response_can_run_in(patch):
    harness = Harness()  # validates every server event against the GA types as it arrives
    harness.send({'type': 'session.update', 'event_id': 'ev_update', 'session': patch})
    reply = [event for _, event in harness.sent[1:]]
    assert len(reply) == 1, reply
    if reply[0]['type'] == 'error':
        assert reply[0]['error']['code'] != 'server_error' and reply[0]['error']['event_id'] == 'ev_update', reply
        return
    assert reply[0]['type'] == 'session.updated'
    events = say_hello_and_answer(harness)
    assert [e for e in events if e['type'] == 'error'] == [], events
    assert events[-1]['type'] in ('response.done', 'rate_limits.updated') and \
        any(e['type'] == 'response.done' for e in events), [e['type'] for e in events]


@settings(max_examples=200, deadline=None)
@given(patches)
@example({'type': 'realtime', 'tool_choice': {}})  # was minted, and its echo no GA client could parse
@example({'type': 'realtime', 'tool_choice': {'type': 'function', 'name': 'nowhere'}})
def test_a_minted_session_is_refused_or_opens_a_session_whose_events_are_valid(patch):
    tokens = TokenStore(frozenset({API_KEY}), clock=lambda: 1000.0)
    status, body = tokens.mint(f'Bearer {API_KEY}', {'session': patch})
    assert status in (200, 400), body
    if status == 400:
        assert set(body['error']) == {'message', 'type', 'param', 'code'}, body
        return
    validate_client_secret(body)
    grant = tokens.grant_for(body['value'], patch.get('model'))
    engine = RealtimeEngine({**grant.session, 'id': 'sess_x'}, 0.0)
    for action in engine.poll(0.0):
        validate_server_event(action.event)
