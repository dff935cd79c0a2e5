"""Conversation items on the engine: placement by previous_item_id, validation order, audio content, retrieve,
truncate."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.protocol_validation import validate_server_event
from voice_ui.local_realtime.server_agent import Reply
from voice_ui.local_realtime.server_config import EngineOptions, Pacing
from voice_ui.protocol import BYTES_PER_MS, ServerEvent

from .test_engine import SECOND_OF_AUDIO, Harness


def text_item(text: str, role: str = 'user', item_id: str | None = None) -> dict:
    part = 'output_text' if role == 'assistant' else 'input_text'
    return {'type': 'message', 'role': role, 'content': [{'type': part, 'text': text}],
            **({'id': item_id} if item_id else {})}


def create(harness: Harness, item: dict, **fields: object) -> dict:
    harness.poll()
    start = len(harness.sent)
    harness.send({'type': 'conversation.item.create', 'item': item, **fields})
    return harness.sent[start][1]  # conversation.item.added, or the error


def order(harness: Harness) -> list[str]:
    return [item.id for item in harness.engine.conversation.items]


def test_previous_item_id_places_items_and_every_added_event_names_the_real_predecessor():
    harness = Harness()
    assert create(harness, text_item('a', item_id='a'))['previous_item_id'] is None
    assert create(harness, text_item('b', item_id='b'))['previous_item_id'] == 'a'
    first = create(harness, text_item('first', item_id='first'), previous_item_id='root')
    assert first['previous_item_id'] is None
    middle = create(harness, text_item('mid', item_id='mid'), previous_item_id='a')
    assert middle['previous_item_id'] == 'a'
    assert order(harness) == ['first', 'a', 'mid', 'b']
    done = harness.sent[-1][1]
    assert done['type'] == 'conversation.item.done' and done['previous_item_id'] == 'a'
    assert done['item']['id'] == 'mid'


def test_an_unknown_previous_item_id_is_an_error_and_adds_nothing():
    harness = Harness()
    create(harness, text_item('a', item_id='a'))
    error = create(harness, text_item('x', item_id='x'), previous_item_id='nope')
    assert error['type'] == 'error' and error['error']['param'] == 'previous_item_id'
    assert order(harness) == ['a']
    error = create(harness, text_item('again', item_id='a'))
    assert error['type'] == 'error' and error['error']['param'] == 'item.id'


def test_the_reply_follows_the_last_item_and_says_so():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    create(harness, text_item('hello', item_id='u1'))
    harness.send({'type': 'response.create'})
    added = [e for _, e in harness.of_type(ServerEvent.ITEM_ADDED)][-1]
    assert added['previous_item_id'] == 'u1' and order(harness)[0] == 'u1'


@pytest.mark.parametrize(('item', 'code', 'param'), [
    ({'type': 'function_call_output', 'call_id': 'c', 'output': 'x', 'role': 'user'}, 'unknown_parameter',
     'item.role'),
    ({'type': 'reasoning', 'call_id': 'c', 'summary': []}, 'invalid_value', 'item.type'),
    ({'type': 'mcp_call', 'server_label': 'x'}, 'invalid_value', 'item.type'),
    ({'call_id': 'c', 'output': 'x'}, 'missing_required_parameter', 'item.type'),
    ({'type': 'function_call_output', 'output': 'x'}, 'missing_required_parameter', 'item.call_id'),
    ({'type': 'function_call', 'name': 'f'}, 'missing_required_parameter', 'item.arguments'),
    ({'type': 'message', 'role': 'robot', 'content': []}, 'invalid_value', 'item.role'),
    ({'type': 'message', 'role': 'user', 'content': [{'type': 'input_image', 'image_url': 'data:'}]},
     'invalid_value', 'item.content[0].image_url'),  # GA takes images, as data URIs of images
    ({'type': 'message', 'role': 'system', 'content': [{'type': 'input_image', 'image_url': 'data:image/png,'}]},
     'invalid_value', 'item.content[0].type'),
    ({'type': 'message', 'role': 'user', 'content': [{'type': 'input_audio', 'audio': '***'}]},
     'invalid_value', 'item.content[0].audio'),
    ({'type': 'message', 'role': 'system', 'content': [{'type': 'input_text', 'text': 5}]},
     'invalid_value', 'item.content[0].text'),
])
def test_item_validation_checks_the_type_first_then_its_fields(item, code, param):
    harness = Harness()
    harness.send({'type': 'conversation.item.create', 'item': item})
    error = harness.sent[-1][1]['error']
    assert (error['code'], error['param']) == (code, param), error
    assert order(harness) == []


def test_user_items_with_input_audio_are_transcribed_and_answered():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    audio = base64.b64encode(SECOND_OF_AUDIO).decode()
    added = create(harness, {'type': 'message', 'role': 'user',
                             'content': [{'type': 'input_audio', 'audio': audio}]})
    assert added['item']['content'] == [{'type': 'input_audio', 'transcript': None}]
    [(_, completed)] = harness.of_type(ServerEvent.INPUT_TRANSCRIPTION_COMPLETED)
    assert completed['item_id'] == added['item']['id'] and completed['transcript'].startswith('[1.0 s')
    harness.send({'type': 'response.create'})
    assert harness.work[-1].audio == SECOND_OF_AUDIO
    with_transcript = create(harness, {'type': 'message', 'role': 'user', 'content': [
        {'type': 'input_audio', 'audio': audio, 'transcript': 'known words'}]})
    assert with_transcript['item']['content'][0]['transcript'] == 'known words'
    assert len(harness.of_type(ServerEvent.INPUT_TRANSCRIPTION_COMPLETED)) == 1  # no need to transcribe


def test_retrieve_returns_the_item_with_its_audio():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.manual_turn()
    user_id = harness.engine.conversation.items[0].id
    harness.send({'type': 'conversation.item.retrieve', 'item_id': user_id})
    retrieved = harness.sent[-1][1]
    assert retrieved['type'] == 'conversation.item.retrieved'
    assert base64.b64decode(retrieved['item']['content'][0]['audio']) == SECOND_OF_AUDIO
    harness.send({'type': 'conversation.item.retrieve', 'item_id': 'missing'})
    error = harness.sent[-1][1]['error']
    # the service's code (clients such as pipecat match it to fail the pending retrieve, not the session)
    assert (error['code'], error['param']) == ('item_retrieve_invalid_item_id', 'item_id'), error
    assert error['message'] == "Error retrieving item: the item with id 'missing' does not exist."


class TimedAgent:
    description = 'speaks two words, 1 s each, with word timing'

    async def transcribe(self, audio, language, prompt):
        return 'hi'

    async def respond(self, history, audio, instructions=None, tools=None):
        return Reply('Hello there', b'\x01\x00' * 48_000, word_ends_ms=(700, 2000))


def test_truncate_keeps_the_words_heard_by_the_agents_word_timing():
    harness = Harness(EngineOptions(pacing=Pacing.BURST), agent=TimedAgent())
    harness.manual_turn()
    item = harness.engine.conversation.items[-1]
    harness.send({'type': 'conversation.item.truncate', 'item_id': item.id, 'content_index': 0,
                  'audio_end_ms': 900})
    assert harness.sent[-1][1]['type'] == 'conversation.item.truncated'
    assert item.text == 'Hello' and len(item.audio) == 900 * BYTES_PER_MS  # not proportional (which says 'Hello')
    harness.send({'type': 'conversation.item.truncate', 'item_id': item.id, 'content_index': 0, 'audio_end_ms': 500})
    assert item.text == ''  # 'Hello' ends at 700 ms: not heard


def test_truncate_without_word_timing_is_proportional():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.manual_turn()
    item = harness.engine.conversation.items[-1]
    full = item.text.split(' ')
    harness.send({'type': 'conversation.item.truncate', 'item_id': item.id, 'content_index': 0, 'audio_end_ms': 500})
    assert item.text.split(' ') == full[:round(len(full) / 2)]


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(['type', 'role', 'content', 'id', 'call_id', 'output', 'name', 'arguments',
                                         'text', 'audio', 'transcript', 'status', 'object']), inner, max_size=5),
                    max_leaves=12),
       st.none() | st.sampled_from(['root', 'nope']) | st.integers())
def test_any_item_gets_an_answer_that_validates_and_a_bad_one_changes_nothing(item, previous):
    harness = Harness()
    before = order(harness)
    fields = {} if previous is None else {'previous_item_id': previous}
    harness.send({'type': 'conversation.item.create', 'item': item, **fields})
    last = harness.sent[-1][1]
    validate_server_event(last)
    if last['type'] == 'error':
        assert order(harness) == before
    else:
        assert last['type'] == 'conversation.item.done'


UNKNOWN_ITEM_CODES = {'conversation.item.retrieve': 'item_retrieve_invalid_item_id',
                      'conversation.item.delete': 'item_delete_invalid_item_id',
                      'conversation.item.truncate': 'item_truncate_invalid_item_id'}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(UNKNOWN_ITEM_CODES)), st.text(min_size=1, max_size=40), st.text(max_size=12))
def test_an_unknown_item_id_gets_the_code_of_what_was_asked_and_the_conversation_stays(asked, item_id, event_id):
    harness = Harness()
    create(harness, text_item('kept', item_id='kept'))
    if item_id == 'kept':
        return
    where = {'content_index': 0, 'audio_end_ms': 0} if asked == 'conversation.item.truncate' else {}
    harness.send({'type': asked, 'item_id': item_id, 'event_id': event_id, **where})
    answer = harness.sent[-1][1]
    validate_server_event(answer)
    assert answer['error']['code'] == UNKNOWN_ITEM_CODES[asked], answer
    assert answer['error']['param'] == 'item_id' and answer['error']['event_id'] == event_id, answer
    assert order(harness) == ['kept']
