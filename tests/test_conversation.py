"""The conversation reducer, fed the GA events the browser component forwards.

`relay` does what assets/python-link.js does with a server event: transcript deltas and done events become
`transcript` calls, errors go to the error channel, the other forwarded events are applied as they are.
"""
from voice_ui.conversation import AGENT, MAX_TURN_CHARS, USER, Conversation
from voice_ui.protocol import FORWARDED_SERVER_EVENTS, ErrorSource, ServerEvent as S

DELTAS = {S.INPUT_TRANSCRIPTION_DELTA: USER, S.OUTPUT_AUDIO_TRANSCRIPT_DELTA: AGENT, S.OUTPUT_TEXT_DELTA: AGENT}
DONE = {S.INPUT_TRANSCRIPTION_COMPLETED: (USER, 'transcript'), S.OUTPUT_AUDIO_TRANSCRIPT_DONE: (AGENT, 'transcript'),
        S.OUTPUT_TEXT_DONE: (AGENT, 'text')}


def relay(conv: Conversation, event: dict) -> None:
    kind = event['type']
    if kind in DELTAS:
        conv.transcript(event['item_id'], DELTAS[kind], event['delta'])
    elif kind in DONE:
        role, field = DONE[kind]
        text = event.get(field) or ''
        conv.transcript(event['item_id'], role, text, replace=bool(text), final=True)
    elif kind == S.ERROR:
        conv.show_error(ErrorSource.SERVER, event['error'].get('code'), event['error'].get('message'))
    else:
        assert kind in FORWARDED_SERVER_EVENTS, kind
        conv.apply(event)


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
    relay(conv, committed('item_u1'))
    relay(conv, user_delta('item_u1', 'hello '))
    relay(conv, user_delta('item_u1', 'there'))
    relay(conv, {'type': S.INPUT_TRANSCRIPTION_COMPLETED, 'item_id': 'item_u1', 'transcript': 'hello there'})
    relay(conv, agent_item('item_a1', 'item_u1'))
    relay(conv, agent_delta('item_a1', 'Hi!'))
    relay(conv, {'type': S.OUTPUT_AUDIO_TRANSCRIPT_DONE, 'item_id': 'item_a1', 'transcript': 'Hi! How can I help?'})
    assert texts(conv) == [(USER, 'hello there'), (AGENT, 'Hi! How can I help?')]
    assert all(t.done for t in conv.turns)


def test_a_late_user_transcript_stays_before_the_reply():
    conv = Conversation()
    relay(conv, committed('item_u1'))
    relay(conv, agent_item('item_a1', 'item_u1'))
    relay(conv, agent_delta('item_a1', 'Sure.'))
    relay(conv, user_delta('item_u1', 'turn on the lights'))
    assert texts(conv) == [(USER, 'turn on the lights'), (AGENT, 'Sure.')]
    assert not conv.turns[0].done


def test_a_reply_announced_before_its_user_item_is_known_still_follows_it():
    conv = Conversation()
    relay(conv, agent_item('item_a1', 'item_u1'))
    relay(conv, agent_delta('item_a1', 'Sure.'))
    relay(conv, user_delta('item_u1', 'lights please'))  # the user item shows up last
    assert texts(conv) == [(USER, 'lights please'), (AGENT, 'Sure.')]


def test_follow_up_turns_chain_in_order():
    conv = Conversation()
    relay(conv, committed('u1'))
    relay(conv, agent_item('a1', 'u1'))
    relay(conv, committed('u2', 'a1'))
    relay(conv, agent_item('a2', 'u2'))
    relay(conv, user_delta('u1', 'one'))
    relay(conv, user_delta('u2', 'two'))
    assert [t.item_id for t in conv.turns] == ['u1', 'a1', 'u2', 'a2']


def test_item_done_does_not_duplicate_and_fills_text_items():
    conv = Conversation()
    relay(conv, {'type': S.ITEM_ADDED, 'previous_item_id': None, 'item': {
        'id': 'u1', 'type': 'message', 'role': USER, 'status': 'completed',
        'content': [{'type': 'input_text', 'text': 'typed text'}]}})
    relay(conv, agent_item('a1', 'u1'))
    relay(conv, agent_item('a1', 'u1', S.ITEM_DONE))
    assert texts(conv) == [(USER, 'typed text'), (AGENT, '')]


def test_text_output_and_failed_transcription():
    conv = Conversation()
    relay(conv, committed('u1'))
    relay(conv, {'type': S.INPUT_TRANSCRIPTION_FAILED, 'item_id': 'u1',
                'error': {'type': 'transcription_error', 'message': 'audio unreadable'}})
    relay(conv, {'type': S.OUTPUT_TEXT_DELTA, 'item_id': 'a1', 'delta': 'in text'})
    relay(conv, {'type': S.OUTPUT_TEXT_DONE, 'item_id': 'a1', 'text': 'in text.'})
    assert conv.turns[0].note == 'transcription failed: audio unreadable'
    assert texts(conv)[1] == (AGENT, 'in text.')


def test_response_done_sums_usage_and_marks_cancelled_turns():
    conv = Conversation()
    relay(conv, agent_item('a1', None))
    usage = {'total_tokens': 30, 'input_tokens': 10, 'output_tokens': 20,
             'input_token_details': {'audio_tokens': 8, 'text_tokens': 2},
             'output_token_details': {'audio_tokens': 15, 'text_tokens': 5}}
    relay(conv, {'type': S.RESPONSE_DONE, 'response': {'id': 'r1', 'status': 'cancelled', 'usage': usage,
                                                      'output': [{'id': 'a1', 'type': 'message'}]}})
    relay(conv, {'type': S.RESPONSE_DONE, 'response': {'id': 'r2', 'status': 'completed', 'usage': usage}})
    assert conv.turns[0].done and conv.turns[0].note == 'cancelled'
    assert (conv.usage.input_tokens, conv.usage.output_audio_tokens, conv.usage.responses) == (20, 30, 2)


def test_errors_socket_closes_and_mic_failures_explain_themselves():
    conv = Conversation()
    relay(conv, {'type': S.ERROR, 'error': {'type': 'invalid_request_error', 'code': 'input_audio_buffer_commit_empty',
                                           'message': 'buffer too small'}})
    assert conv.error == 'buffer too small'
    conv.set_status('connecting')
    assert conv.error == '' and conv.status == 'connecting'
    conv.show_error(ErrorSource.SOCKET, '1006', '')
    assert 'code 1006' in conv.error
    conv.show_error(ErrorSource.MICROPHONE, 'NotAllowedError', 'Permission denied')
    assert 'denied' in conv.error
    conv.show_error(ErrorSource.MICROPHONE, 'NotFoundError', '')
    assert 'No microphone' in conv.error
    conv.reset()
    assert (conv.turns, conv.status, conv.error) == ([], 'idle', '')


def test_the_status_is_only_mirrored_and_unknown_states_are_ignored():
    conv = Conversation()
    conv.set_status('stopping')
    assert conv.status == 'stopping'
    for bogus in ('hacked', None, {'x': 1}, 3):
        conv.set_status(bogus)
    assert conv.status == 'stopping'


def test_deleted_items_disappear():
    conv = Conversation()
    relay(conv, committed('u1'))
    relay(conv, {'type': S.ITEM_DELETED, 'item_id': 'u1'})
    assert conv.turns == []


def test_barge_in_marks_the_reply_interrupted_and_a_raced_cancel_is_no_error():
    conv = Conversation()
    relay(conv, agent_item('a1', None))
    relay(conv, {'type': S.ITEM_TRUNCATED, 'item_id': 'a1', 'content_index': 0, 'audio_end_ms': 1200})
    relay(conv, {'type': S.ERROR, 'error': {'type': 'invalid_request_error', 'code': 'response_cancel_not_active',
                                           'message': 'Cancellation failed: no active response found'}})
    assert conv.turns[0].note == 'interrupted' and conv.error == ''


def test_coalesced_deltas_a_final_text_and_a_runaway_transcript():
    conv = Conversation()
    conv.transcript('a1', AGENT, 'Hel')
    conv.transcript('a1', AGENT, 'lo')
    assert texts(conv) == [(AGENT, 'Hello')] and not conv.turns[0].done
    conv.transcript('a1', AGENT, 'Hello there.', replace=True, final=True)
    assert texts(conv) == [(AGENT, 'Hello there.')] and conv.turns[0].done
    for _ in range(5):
        conv.transcript('u9', USER, 'x' * (MAX_TURN_CHARS // 2))
    assert len(conv.turn('u9').text) <= MAX_TURN_CHARS + 1


def test_a_done_text_split_in_parts_replaces_the_card_at_once_never_shrinking_it():
    conv = Conversation()
    conv.transcript('a1', AGENT, 'one two three four')
    conv.transcript('a1', AGENT, 'One, ', replace=True)
    assert texts(conv) == [(AGENT, 'one two three four')], 'the first part alone is not shown'
    conv.transcript('a1', AGENT, 'two, ')
    conv.transcript('a1', AGENT, 'three, four.', final=True)
    assert texts(conv) == [(AGENT, 'One, two, three, four.')] and conv.turns[0].done
    conv.transcript('a1', AGENT, ' more')  # a later delta appends to the replaced text again
    assert texts(conv) == [(AGENT, 'One, two, three, four. more')]


def test_ids_that_are_not_strings_are_never_stored():
    conv = Conversation()
    conv.apply({'type': S.INPUT_AUDIO_COMMITTED, 'item_id': {'evil': 1}, 'previous_item_id': None})
    conv.apply({'type': S.ITEM_ADDED, 'previous_item_id': ['x'], 'item': {'id': 7, 'type': 'message', 'role': USER}})
    conv.transcript(None, AGENT, 'text')
    conv.transcript({'a': 1}, AGENT, 'text')
    assert conv.turns == []
    relay(conv, committed('u1'))  # and the conversation goes on
    relay(conv, user_delta('u1', 'hi'))
    assert texts(conv) == [(USER, 'hi')]


def test_views_hear_of_inserted_and_removed_turns_only():
    conv = Conversation()
    added, removed = [], []
    conv.on_added.append(lambda turn, index: added.append((turn.item_id, index)))
    conv.on_removed.append(lambda turn: removed.append(turn.item_id))
    relay(conv, agent_item('a1', 'u1'))
    relay(conv, agent_delta('a1', 'Sure.'))
    relay(conv, committed('u1'))
    relay(conv, {'type': S.ITEM_DELETED, 'item_id': 'a1'})
    assert added == [('a1', 0), ('u1', 0)] and removed == ['a1']
