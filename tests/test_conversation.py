"""The conversation reducer, fed the GA events the browser component forwards."""
from voice_ui.conversation import AGENT, USER, Conversation
from voice_ui.protocol import ServerEvent as S


def committed(item, previous=None):
    return {'type': S.INPUT_AUDIO_COMMITTED, 'item_id': item, 'previous_item_id': previous}


def agent_item(item, previous, event=S.ITEM_ADDED):
    return {'type': event, 'previous_item_id': previous,
            'item': {'id': item, 'type': 'message', 'role': AGENT, 'status': 'in_progress', 'content': []}}


def user_delta(item, delta):
    return {'type': S.INPUT_TRANSCRIPTION_DELTA, 'item_id': item, 'content_index': 0, 'delta': delta}


def agent_delta(item, delta):
    return {'type': S.OUTPUT_AUDIO_TRANSCRIPT_DELTA, 'item_id': item, 'response_id': 'resp_1', 'delta': delta}


def texts(conv):
    return [(t.role, t.text) for t in conv.turns]


def test_a_manual_turn_builds_a_user_and_an_agent_turn():
    conv = Conversation()
    conv.apply(committed('item_u1'))
    conv.apply(user_delta('item_u1', 'hello '))
    conv.apply(user_delta('item_u1', 'there'))
    conv.apply({'type': S.INPUT_TRANSCRIPTION_COMPLETED, 'item_id': 'item_u1', 'transcript': 'hello there'})
    conv.apply(agent_item('item_a1', 'item_u1'))
    conv.apply(agent_delta('item_a1', 'Hi!'))
    conv.apply({'type': S.OUTPUT_AUDIO_TRANSCRIPT_DONE, 'item_id': 'item_a1', 'transcript': 'Hi! How can I help?'})
    assert texts(conv) == [(USER, 'hello there'), (AGENT, 'Hi! How can I help?')]
    assert all(t.done for t in conv.turns)


def test_a_late_user_transcript_stays_before_the_reply():
    conv = Conversation()
    conv.apply(committed('item_u1'))
    conv.apply(agent_item('item_a1', 'item_u1'))
    conv.apply(agent_delta('item_a1', 'Sure.'))
    conv.apply(user_delta('item_u1', 'turn on the lights'))
    assert texts(conv) == [(USER, 'turn on the lights'), (AGENT, 'Sure.')]
    assert not conv.turns[0].done


def test_a_reply_announced_before_its_user_item_is_known_still_follows_it():
    conv = Conversation()
    conv.apply(agent_item('item_a1', 'item_u1'))
    conv.apply(agent_delta('item_a1', 'Sure.'))
    conv.apply(user_delta('item_u1', 'lights please'))  # the user item shows up last
    assert texts(conv) == [(USER, 'lights please'), (AGENT, 'Sure.')]


def test_follow_up_turns_chain_in_order():
    conv = Conversation()
    conv.apply(committed('u1'))
    conv.apply(agent_item('a1', 'u1'))
    conv.apply(committed('u2', 'a1'))
    conv.apply(agent_item('a2', 'u2'))
    conv.apply(user_delta('u1', 'one'))
    conv.apply(user_delta('u2', 'two'))
    assert [t.item_id for t in conv.turns] == ['u1', 'a1', 'u2', 'a2']


def test_item_done_does_not_duplicate_and_fills_text_items():
    conv = Conversation()
    conv.apply({'type': S.ITEM_ADDED, 'previous_item_id': None, 'item': {
        'id': 'u1', 'type': 'message', 'role': USER, 'status': 'completed',
        'content': [{'type': 'input_text', 'text': 'typed text'}]}})
    conv.apply(agent_item('a1', 'u1'))
    conv.apply(agent_item('a1', 'u1', S.ITEM_DONE))
    assert texts(conv) == [(USER, 'typed text'), (AGENT, '')]


def test_text_output_and_failed_transcription():
    conv = Conversation()
    conv.apply(committed('u1'))
    conv.apply({'type': S.INPUT_TRANSCRIPTION_FAILED, 'item_id': 'u1',
                'error': {'type': 'transcription_error', 'message': 'audio unreadable'}})
    conv.apply({'type': S.OUTPUT_TEXT_DELTA, 'item_id': 'a1', 'delta': 'in text'})
    conv.apply({'type': S.OUTPUT_TEXT_DONE, 'item_id': 'a1', 'text': 'in text.'})
    assert conv.turns[0].note == 'transcription failed: audio unreadable'
    assert texts(conv)[1] == (AGENT, 'in text.')


def test_response_done_sums_usage_and_marks_cancelled_turns():
    conv = Conversation()
    conv.apply(agent_item('a1', None))
    usage = {'total_tokens': 30, 'input_tokens': 10, 'output_tokens': 20,
             'input_token_details': {'audio_tokens': 8, 'text_tokens': 2},
             'output_token_details': {'audio_tokens': 15, 'text_tokens': 5}}
    conv.apply({'type': S.RESPONSE_DONE, 'response': {'id': 'r1', 'status': 'cancelled', 'usage': usage,
                                                      'output': [{'id': 'a1', 'type': 'message'}]}})
    conv.apply({'type': S.RESPONSE_DONE, 'response': {'id': 'r2', 'status': 'completed', 'usage': usage}})
    assert conv.turns[0].done and conv.turns[0].note == 'cancelled'
    assert (conv.usage.input_tokens, conv.usage.output_audio_tokens, conv.usage.responses) == (20, 30, 2)


def test_errors_socket_closes_and_mic_failures_explain_themselves():
    conv = Conversation()
    conv.apply({'type': S.ERROR, 'error': {'type': 'invalid_request_error', 'code': 'input_audio_buffer_commit_empty',
                                           'message': 'buffer too small'}})
    assert conv.error == 'buffer too small'
    conv.set_status('connecting')
    assert conv.error == ''
    conv.socket_closed(1006, '')
    assert conv.status == 'closed' and 'code 1006' in conv.error
    conv.mic_error('NotAllowedError', 'Permission denied')
    assert conv.status == 'error' and 'denied' in conv.error
    conv.reset()
    assert (conv.turns, conv.status, conv.error) == ([], 'idle', '')


def test_a_normal_close_is_not_an_error():
    conv = Conversation()
    conv.socket_closed(1000, 'bye')
    assert conv.error == '' and conv.status == 'closed'


def test_deleted_items_disappear():
    conv = Conversation()
    conv.apply(committed('u1'))
    conv.apply({'type': S.ITEM_DELETED, 'item_id': 'u1'})
    assert conv.turns == []


def test_barge_in_marks_the_reply_interrupted_and_a_raced_cancel_is_no_error():
    conv = Conversation()
    conv.apply(agent_item('a1', None))
    conv.apply({'type': S.ITEM_TRUNCATED, 'item_id': 'a1', 'content_index': 0, 'audio_end_ms': 1200})
    conv.apply({'type': S.ERROR, 'error': {'type': 'invalid_request_error', 'code': 'response_cancel_not_active',
                                           'message': 'Cancellation failed: no active response found'}})
    assert conv.turns[0].note == 'interrupted' and conv.error == ''
