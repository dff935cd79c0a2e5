"""The component's BATCH event (assets/python-link.js sends the events of one short window as one socket message):
each entry is handled in order exactly as if it had come alone, and a hostile batch changes nothing and never
raises."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from nicegui import Client
from nicegui.events import GenericEventArguments
from nicegui.page import page
from nicegui.testing import User

from voice_ui.event_budget import EventBudget
from voice_ui.protocol import ServerEvent as S, UiEvent
from voice_ui.realtime_session import BATCHED, MAX_BATCH_EVENTS, RealtimeSession

from .test_page import openai_env, transcript_texts  # noqa: F401 (fixture)


def turn_batches() -> list[list]:
    """One spoken turn as the browser batches it (see tests/e2e/test_python_link.py for the JS side)."""
    usage = {'input_tokens': 120, 'output_tokens': 80, 'input_token_details': {'audio_tokens': 100},
             'output_token_details': {'audio_tokens': 60}}
    agent = {'id': 'item_a1', 'type': 'message', 'role': 'assistant', 'status': 'in_progress', 'content': []}
    return [
        [['status', {'status': 'listening', 'turn': 1}]],
        [['status', {'status': 'thinking', 'turn': 1}],
         ['realtime_event', {'type': S.INPUT_AUDIO_COMMITTED, 'item_id': 'item_u1', 'previous_item_id': None}]],
        [['transcript', {'item_id': 'item_u1', 'role': 'user', 'delta': 'what is the weather', 'replace': True,
                         'final': True}]],
        [['realtime_event', {'type': S.ITEM_ADDED, 'previous_item_id': 'item_u1', 'item': agent}],
         ['transcript', {'item_id': 'item_a1', 'role': 'assistant', 'delta': 'Sunny ', 'replace': False,
                         'final': False}],
         ['status', {'status': 'speaking', 'turn': 1}]],
        [['transcript', {'item_id': 'item_a1', 'role': 'assistant', 'delta': 'Sunny and warm.', 'replace': True,
                         'final': True}],
         ['realtime_event', {'type': S.RESPONSE_DONE, 'response': {'id': 'resp_1', 'status': 'completed',
                                                                   'output': [agent], 'usage': usage}}]],
        [['latency', {'turn': 1, 'item_id': 'item_a1', 'response_id': 'resp_1', 'commit_ms': 20,
                      'transcript_ms': 300, 'audio_ms': 700, 'done_ms': 2000}],
         ['status', {'status': 'idle', 'turn': 1}]],
    ]


async def test_a_batched_turn_fills_the_page_as_single_events_would(openai_env, user: User):  # noqa: F811
    await user.open('/')
    session = user.find(RealtimeSession)
    statuses = []
    next(iter(session.elements)).on_status(lambda e: statuses.append(e.status.value))
    for batch in turn_batches():
        session.trigger(UiEvent.BATCH, batch)
    assert transcript_texts(user) == ['what is the weather', 'Sunny and warm.']
    assert statuses == ['listening', 'thinking', 'speaking', 'idle']
    await user.should_see('Ready')
    await user.should_see('1 response · 120 tokens in · 80 tokens out', retries=20)  # usage from response.done


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                 max_size=4), max_leaves=20)
NAMES = st.sampled_from([e.value for e in UiEvent] + ['nope', ''])
ENTRY = st.one_of(st.tuples(NAMES, JSON).map(list), JSON)


@pytest.fixture(scope='module')
def bare_session():
    """A RealtimeSession outside any page, every typed handler recording what it was given."""
    with Client(page('/'), request=None):
        session = RealtimeSession(ws_url=None, model='gpt-realtime', session={})
    seen: list = []
    for name in ('status', 'server_event', 'transcript', 'error', 'notice', 'token_wanted', 'latency'):
        getattr(session, f'on_{name}')(lambda e, n=name: seen.append(n))
    return session, seen


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.one_of(st.lists(ENTRY, max_size=8), JSON))
def test_hostile_batches_never_raise(bare_session, batch):
    session, seen = bare_session
    seen.clear()
    session._batch(GenericEventArguments(sender=session, client=session.client, args=batch))
    assert len(seen) <= (len(batch) if isinstance(batch, list) else 0)


def test_a_batch_is_bounded(bare_session):
    session, seen = bare_session
    seen.clear()
    session.budget = EventBudget()  # a full one: the examples above spent the shared session's (event_budget.py)
    entry = ['status', {'status': 'idle', 'turn': 1}]
    session._batch(GenericEventArguments(sender=session, client=session.client, args=[entry] * 100_000))
    assert len(seen) == MAX_BATCH_EVENTS


def test_every_component_event_can_travel_in_a_batch():
    assert set(BATCHED) == {e.value for e in UiEvent} - {UiEvent.BATCH.value}
    assert all(callable(getattr(RealtimeSession, handler, None)) for handler in BATCHED.values())
