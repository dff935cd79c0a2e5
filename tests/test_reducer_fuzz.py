"""Hostile input for the Python reducer: whatever a (broken or malicious) server or page sends, `Conversation`
never raises, stores only short string ids, keeps its indexes consistent and its memory bounded.

The events are GA-shaped (real type names and field names) with every field drawn from arbitrary JSON, so most
of them get past the `type` switch and reach the field handling, where the old reducer broke.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from voice_ui.conversation import MAX_ID_CHARS, MAX_TURN_CHARS, Conversation
from voice_ui.protocol import ErrorSource, Role, ServerEvent, Status

EVENTS_PER_EXAMPLE = 200
EXAMPLES = 100  # 20,000 events in all

# Drawn from pools of hostile values rather than generated recursively: 25,000 events must run in seconds.
HOSTILE = [None, True, False, 0, -1, 2**63, 1.5, float('nan'), float('inf'), '', 'x', 'completed', 'cancelled',
           'failed', 'message', 'user', 'assistant', 'é' * 3, 'x' * 300, {}, [], {'a': 1}, ['x'], [None], {'id': 'i1'},
           [{'id': 'i1'}], [{'id': {'x': 1}}], {'message': 5}, {'message': 'boom', 'code': ['c']},
           {'audio_tokens': 'many'}, {'input_tokens': -5, 'output_tokens': 2**70},
           [{'type': 'input_text', 'text': 'typed'}, {'transcript': 7}, 'part'], {'error': {'message': {'x': 1}}}]
json_value = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6), st.integers())
ids = st.one_of(st.sampled_from(['i1', 'i2', 'i3', 'i4', '', 'x' * 300]), st.sampled_from(HOSTILE))
FIELDS = ('item_id', 'previous_item_id', 'delta', 'transcript', 'text', 'error', 'response', 'item')


@st.composite
def server_event(draw) -> object:
    if draw(st.integers(0, 20)) == 0:
        return draw(json_value)  # not even an object
    event = {'type': draw(st.one_of(st.sampled_from(list(ServerEvent)), json_value))}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        event[name] = draw(ids if name.endswith('id') else json_value)
    if 'item' in event and draw(st.booleans()):
        event['item'] = {'id': draw(ids), 'type': draw(st.sampled_from(['message', 'function_call', None])),
                         'role': draw(st.sampled_from([*Role, 'system', None])), 'status': draw(json_value),
                         'content': draw(json_value)}
    if 'response' in event and draw(st.booleans()):
        event['response'] = {'id': draw(ids), 'status': draw(json_value), 'usage': draw(json_value),
                             'output': draw(st.lists(st.fixed_dictionaries({'id': ids}), max_size=3))}
    return event


@st.composite
def component_call(draw) -> tuple:
    kind = draw(st.integers(0, 9))
    if kind < 6:
        return ('apply', draw(server_event()))
    if kind < 8:
        return ('transcript', draw(ids), draw(st.one_of(st.sampled_from(list(Role)), json_value)), draw(json_value),
                draw(st.booleans()), draw(st.booleans()))
    if kind == 8:
        return ('status', draw(st.one_of(st.sampled_from(list(Status)), json_value)))
    source = draw(st.one_of(st.sampled_from(list(ErrorSource)), json_value))
    return ('error', source, draw(json_value), draw(json_value))


def run(conv: Conversation, call: tuple) -> None:
    if call[0] == 'apply':
        conv.apply(call[1])
    elif call[0] == 'transcript':
        conv.transcript(call[1], call[2], call[3], replace=call[4], final=call[5])
    elif call[0] == 'status':
        conv.set_status(call[1])
    else:
        conv.show_error(call[1], call[2], call[3])


def assert_consistent(conv: Conversation) -> None:
    assert all(isinstance(t.item_id, str) and 0 < len(t.item_id) <= MAX_ID_CHARS for t in conv.turns)
    assert len({t.item_id for t in conv.turns}) == len(conv.turns), 'a turn appears twice'
    assert {t.item_id: t for t in conv.turns} == conv._by_id
    assert all(isinstance(t.text, str) and len(t.text) <= MAX_TURN_CHARS + 1 for t in conv.turns)
    assert all(isinstance(t.note, str) and isinstance(t.done, bool) for t in conv.turns)
    assert isinstance(conv.error, str) and conv.status in set(Status)
    assert all(isinstance(v, int) for v in vars(conv.usage).values())


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(component_call(), min_size=EVENTS_PER_EXAMPLE, max_size=EVENTS_PER_EXAMPLE))
def test_the_reducer_survives_any_event_stream(calls):
    conv = Conversation()
    for call in calls:
        run(conv, call)  # must not raise
    assert_consistent(conv)
    conv.reset()
    assert conv.turns == [] and conv._by_id == {} and conv._previous == {} and conv._waiting == {}


def test_a_poisoned_id_does_not_break_later_events():
    """The issue's case: an item id that is an object made every later event raise."""
    conv = Conversation()
    conv.apply({'type': ServerEvent.INPUT_AUDIO_COMMITTED, 'item_id': {'$': 'x'}, 'previous_item_id': {'a': 1}})
    conv.apply({'type': ServerEvent.ITEM_ADDED, 'previous_item_id': {'a': 1}, 'item': {'id': ['x'], 'role': 'user'}})
    conv.apply({'type': ServerEvent.INPUT_AUDIO_COMMITTED, 'item_id': 'u1', 'previous_item_id': None})
    conv.transcript('u1', Role.USER, 'still works', replace=True, final=True)
    assert [(t.item_id, t.text, t.done) for t in conv.turns] == [('u1', 'still works', True)]
