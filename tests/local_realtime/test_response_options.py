"""`response.create` overrides on the engine: out-of-band responses, own input, metadata, null vs omitted."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.protocol_validation import validate_server_event
from voice_ui.local_realtime.server_agent import BrainAgent
from voice_ui.local_realtime.server_config import EngineOptions, Pacing
from voice_ui.protocol import ServerEvent
from voice_ui.speech.scripted_brain import ScriptedBrain

from .test_engine import Harness
from .test_items import create, order, text_item


def text_harness() -> tuple[Harness, ScriptedBrain]:
    brain = ScriptedBrain()
    harness = Harness(EngineOptions(pacing=Pacing.BURST), agent=BrainAgent(brain))
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'instructions': 'Be brief.',
                                                        'output_modalities': ['text']}})
    return harness, brain


def test_an_out_of_band_response_streams_but_never_joins_the_conversation():
    harness, _ = text_harness()
    create(harness, text_item('hello', item_id='u1'))
    start = len(harness.sent)
    harness.send({'type': 'response.create', 'response': {'conversation': 'none', 'metadata': {'topic': 'summary'},
                                                          'output_modalities': ['text']}})
    events = [e for _, e in harness.sent[start:]]
    types = [e['type'] for e in events]
    assert 'response.output_item.added' in types and 'response.output_text.delta' in types
    assert not any(t.startswith('conversation.item') for t in types)
    done = events[types.index('response.done')]['response']
    assert done['conversation_id'] is None and done['metadata'] == {'topic': 'summary'}
    assert events[types.index('response.created')]['response']['metadata'] == {'topic': 'summary'}
    assert done['output'][0]['content'][0]['text'] == 'You said: hello'
    assert order(harness) == ['u1']
    harness.send({'type': 'response.create'})  # an ordinary response afterwards lands in the conversation
    assert len(order(harness)) == 2
    assert harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']['conversation_id'] is not None


def test_response_input_is_the_responses_own_context():
    harness, brain = text_harness()
    create(harness, text_item('in the conversation', item_id='u1'))
    create(harness, text_item('also here', item_id='u2'))
    harness.send({'type': 'response.create', 'response': {'conversation': 'none', 'input': [
        {'type': 'item_reference', 'id': 'u1'}, text_item('only for this response')]}})
    history, _ = brain.seen[-1]
    assert [m.text for m in history] == ['in the conversation', 'only for this response']
    harness.send({'type': 'response.create', 'response': {'input': []}})
    assert brain.seen[-1][0] == []
    harness.send({'type': 'response.create', 'response': {'input': [{'type': 'item_reference', 'id': 'gone'}]}})
    assert harness.sent[-1][1]['error']['param'] == 'response.input[0].id'


def test_null_overrides_keep_the_sessions_values():
    harness, _ = text_harness()
    create(harness, text_item('hi'))
    harness.send({'type': 'response.create', 'response': {'instructions': None, 'tools': None, 'tool_choice': None,
                                                          'output_modalities': None, 'metadata': None,
                                                          'conversation': None, 'max_output_tokens': None}})
    assert harness.work[-1].instructions == 'Be brief.'
    response = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']
    assert response['status'] == 'completed' and response['output_modalities'] == ['text']
    assert harness.engine.session['instructions'] == 'Be brief.'
    harness.send({'type': 'response.create', 'response': {'instructions': 'Shout.'}})
    assert harness.work[-1].instructions == 'Shout.'
    assert harness.engine.session['instructions'] == 'Be brief.'  # an override is for one response only


def test_response_audio_overrides_the_output_format_for_one_response():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.manual_turn()
    pcm_bytes = sum(len(e['delta']) for _, e in harness.of_type(ServerEvent.OUTPUT_AUDIO_DELTA))
    harness.send({'type': 'response.create', 'response': {'audio': {'output': {'format': {'type': 'audio/pcmu'}}}}})
    done = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']
    assert done['audio']['output']['format'] == {'type': 'audio/pcmu'}
    ulaw_bytes = sum(len(e['delta']) for _, e in harness.of_type(ServerEvent.OUTPUT_AUDIO_DELTA)) - pcm_bytes
    assert abs(ulaw_bytes * 6 - pcm_bytes) < pcm_bytes * 0.02  # 8 kHz, 1 byte a sample vs 24 kHz, 2 bytes


def test_bad_overrides_are_refused_with_their_field():
    harness, _ = text_harness()
    for response, param in [({'conversation': 'conv_other'}, 'response.conversation'),
                            ({'metadata': {'k': 5}}, 'response.metadata.k'),
                            ({'metadata': {str(i): 'v' for i in range(17)}}, 'response.metadata'),
                            ({'input': 'text'}, 'response.input'),
                            ({'input': [{'type': 'unknown'}]}, 'response.input[0].type'),
                            ({'audio': {'output': {'format': {'type': 'audio/mp3'}}}}, 'response.audio.output.format'),
                            ({'output_modalities': ['audio', 'text']}, 'response.output_modalities'),
                            ({'instructions': 7}, 'response.instructions')]:
        harness.send({'type': 'response.create', 'response': response})
        error = harness.sent[-1][1]
        assert error['type'] == 'error' and error['error']['param'] == param, (response, error)
        assert harness.engine.active is None


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=10)
FIELDS = ['conversation', 'input', 'instructions', 'metadata', 'output_modalities', 'tool_choice', 'tools', 'audio',
          'max_output_tokens']


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4))
def test_any_overrides_get_a_valid_answer_and_a_refusal_leaves_no_response(response):
    harness, _ = text_harness()
    harness.poll()
    start = len(harness.sent)
    harness.send({'type': 'response.create', 'response': response})
    first = harness.sent[start][1]
    for _, sent in harness.sent[start:]:
        validate_server_event(sent)
    assert first['type'] in ('error', 'response.created')
    assert harness.engine.active is None  # refused, or (burst pacing) already done


def test_max_output_tokens_cuts_the_reply_and_ends_it_incomplete():
    harness, _ = text_harness()
    create(harness, text_item('please tell me a rather long story about the sea'))
    harness.send({'type': 'response.create', 'response': {'max_output_tokens': 4}})
    response = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']
    assert response['status'] == 'incomplete'
    assert response['status_details'] == {'type': 'incomplete', 'reason': 'max_output_tokens'}
    text = response['output'][0]['content'][0]['text']
    assert 0 < len(text) < len('You said: please tell me a rather long story about the sea') and response[
        'max_output_tokens'] == 4
    assert response['usage']['output_tokens'] <= 4
    harness.send({'type': 'response.create', 'response': {'max_output_tokens': 'inf'}})
    assert harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']['status'] == 'completed'
