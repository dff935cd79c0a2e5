"""A failing handler (a bug, not a client mistake) costs the client one `server_error` event: the session lives
and is as it was before that event."""
from __future__ import annotations

from voice_ui.local_realtime.engine import RealtimeEngine
from voice_ui.local_realtime.events import event
from voice_ui.local_realtime.server_conversation import Item
from voice_ui.protocol import ClientEvent, ServerEvent

from .test_fuzz import Session


def broken_clear(engine: RealtimeEngine, client_event: dict, now: float) -> None:
    engine.conversation.add(Item('item_half', 'user', audio_part=False, text='half-done'))
    engine.session = {**engine.session, 'instructions': 'corrupted'}
    engine.audio.append(b'\1\0' * 100)
    engine.send(event(ServerEvent.INPUT_AUDIO_CLEARED), now)
    raise KeyError('a bug')


def test_a_handler_that_raises_leaves_the_session_as_it_was(monkeypatch):
    monkeypatch.setitem(RealtimeEngine.HANDLERS, ClientEvent.INPUT_AUDIO_CLEAR, broken_clear)
    session = Session()
    session.poll(0)
    before = (session.engine.session, list(session.engine.conversation.items), len(session.engine.audio.buffer))
    answer = session.send({'type': 'input_audio_buffer.clear', 'event_id': 'bug-1'}, 1)
    assert [e['type'] for e in answer] == ['error']  # the half-queued `cleared` was taken back
    assert (answer[0]['error']['type'], answer[0]['error']['event_id']) == ('server_error', 'bug-1')
    after = (session.engine.session, list(session.engine.conversation.items), len(session.engine.audio.buffer))
    assert after == before
    answer = session.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'still here'}]}}, 2)
    assert [e['type'] for e in answer] == ['conversation.item.added', 'conversation.item.done']


def test_a_queued_action_that_raises_is_reported_and_the_queue_goes_on():
    session = Session()
    session.poll(0)
    session.engine.outbox.push(lambda: 1 / 0, 1)
    session.engine.outbox.push_event(event(ServerEvent.INPUT_AUDIO_CLEARED), 1)
    assert [e['type'] for e in session.poll(1)] == ['error', 'input_audio_buffer.cleared']
    assert not session.engine.closed


def test_a_work_result_that_breaks_a_handler_is_reported(monkeypatch):
    session = Session()
    session.poll(0)
    monkeypatch.setattr(RealtimeEngine, 'on_transcription', lambda self, *args: 1 / 0)
    session.engine.transcription_ready('item_x', 'text', None, 1)
    assert [e['error']['code'] for e in session.poll(1)] == ['server_error']
    assert [e['type'] for e in session.send({'type': 'input_audio_buffer.clear'}, 2)] == ['input_audio_buffer.cleared']
