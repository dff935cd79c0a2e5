"""The loop over forwarded server events: GA-shaped events in, GA client events out, no double responses."""
import asyncio
import json

import pytest
from hypothesis import given, settings, strategies as st

from tests.protocol_validation import validate_client_event, validate_server_event
from voice_ui.tools import ToolRunner, Toolbox, examples, tool
from voice_ui.tools.loop import ToolLoop


@tool
async def lights(room: str, on: bool = True, delay: float = 0.0) -> str:
    """Switch the lights in a room."""
    await asyncio.sleep(delay)
    return f'{room} lights {"on" if on else "off"}'


def function_call(call_id: str, arguments: dict, status: str = 'completed', name: str = 'lights') -> dict:
    return {'id': f'item_{call_id}', 'type': 'function_call', 'object': 'realtime.item', 'status': status,
            'name': name, 'call_id': call_id, 'arguments': json.dumps(arguments)}


def item_done(item: dict) -> dict:
    return server({'type': 'response.output_item.done', 'event_id': 'ev', 'response_id': 'resp_1',
                   'output_index': 0, 'item': item})


def response_done(*items: dict, status: str = 'completed') -> dict:
    return server({'type': 'response.done', 'event_id': 'ev',
                   'response': {'id': 'resp_1', 'object': 'realtime.response', 'status': status,
                                'output': list(items)}})


def server(event: dict) -> dict:
    validate_server_event(event)  # the fixtures are real GA shapes, not what we wish the server sent
    return event


class Browser:
    """Stands in for the page's send: records what the browser would put on the socket."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def __call__(self, events: list[dict]) -> None:
        for event in events:
            validate_client_event(event)
        self.sent.extend(events)

    def types(self) -> list[str]:
        return [e['type'] for e in self.sent]


@pytest.fixture
async def loop_and_browser():
    browser = Browser()
    loop = ToolLoop(ToolRunner(Toolbox([lights, *Toolbox.from_modules([], examples=True)])), browser)
    yield loop, browser
    await loop.close()


async def settle(loop: ToolLoop) -> None:
    for _ in range(100):
        await asyncio.sleep(0.01)
        if not loop.busy:
            return


async def test_parallel_calls_get_their_outputs_then_one_response(loop_and_browser):
    loop, browser = loop_and_browser
    calls = [function_call('call_a', {'room': 'kitchen', 'delay': 0.05}), function_call('call_b', {'room': 'hall'})]
    for item in calls:
        loop.on_server_event(item_done(item))  # started at once, before the response is done
        loop.on_server_event(server({'type': 'conversation.item.done', 'event_id': 'ev', 'previous_item_id': None,
                                     'item': item}))  # the same call seen again: it runs once
    assert {r.status for r in loop.runner.records.values()} == {'running'}
    loop.on_server_event(response_done(*calls))
    loop.on_server_event(response_done(*calls))  # forwarded twice: still answered once
    await settle(loop)
    assert browser.types() == ['conversation.item.create', 'conversation.item.create', 'response.create']
    assert [e['item']['output'] for e in browser.sent[:2]] == ['kitchen lights on', 'hall lights on']
    assert loop.runner.record('call_a').item_id == 'item_call_a'  # the transcript places the card by item


async def test_a_barge_in_during_a_call_sends_nothing_for_it(loop_and_browser):
    loop, browser = loop_and_browser
    call = function_call('call_a', {'room': 'kitchen', 'delay': 5})
    loop.on_server_event(item_done(call))
    loop.on_server_event(response_done(call))
    await asyncio.sleep(0.05)
    loop.on_status('listening')  # the person pressed Start Speaking while the tool ran
    await settle(loop)
    assert browser.sent == [] and loop.runner.record('call_a').status == 'cancelled'


async def test_a_cancelled_response_gets_outputs_but_no_new_response(loop_and_browser):
    loop, browser = loop_and_browser
    ran, unstarted = function_call('call_a', {'room': 'attic'}), function_call('call_c', {'room': 'cellar'})
    cut = function_call('call_b', {'ro': ''}, status='incomplete')
    loop.on_server_event(item_done(ran))
    loop.on_server_event(item_done(cut))  # arguments cut off: never run
    loop.on_server_event(response_done(ran, cut, unstarted, status='cancelled'))
    await settle(loop)
    # What already ran is reported (it happened); nothing new starts for a response the person cut off.
    assert browser.types() == ['conversation.item.create'] and browser.sent[0]['item']['call_id'] == 'call_a'
    assert loop.runner.record('call_b') is None and loop.runner.record('call_c') is None


async def test_a_call_completing_while_the_person_talks_does_not_start(loop_and_browser):
    loop, browser = loop_and_browser
    loop.on_status('listening')
    loop.on_server_event(item_done(function_call('call_a', {'room': 'attic'})))
    assert not loop.runner.records


async def test_a_bad_call_is_answered_with_an_error_and_the_conversation_goes_on(loop_and_browser):
    loop, browser = loop_and_browser
    call = function_call('call_x', {'room': 3}, name='nonexistent')
    loop.on_server_event(response_done(call))
    await settle(loop)
    assert browser.types() == ['conversation.item.create', 'response.create']
    assert 'unknown tool' in json.loads(browser.sent[0]['item']['output'])['error']


async def test_an_announcement_waits_until_the_session_is_idle(loop_and_browser, monkeypatch):
    monkeypatch.setattr(examples, 'MIN_TIMER_S', 0.01)
    loop, browser = loop_and_browser
    timer = function_call('call_t', {'seconds': 0.1, 'label': 'tea'}, name='start_timer')
    loop.on_server_event(response_done(timer))
    await settle(loop)
    assert browser.types() == ['conversation.item.create', 'response.create']
    loop.on_status('speaking')  # the agent says "timer set"
    await asyncio.sleep(0.2)    # meanwhile the timer runs out
    assert len(browser.sent) == 2 and len(loop.waiting) == 1
    loop.on_server_event(response_done())
    loop.on_status('idle')
    await settle(loop)
    assert browser.types()[2:] == ['conversation.item.create', 'response.create']
    announcement = browser.sent[2]['item']
    assert announcement['role'] == 'system' and 'tea timer' in announcement['content'][0]['text']


async def test_a_refused_response_create_does_not_hold_back_announcements(loop_and_browser, monkeypatch):
    """The browser reports a Realtime `error` apart from the forwarded events: the loop hears of it there."""
    monkeypatch.setattr(examples, 'MIN_TIMER_S', 0.01)
    loop, browser = loop_and_browser
    loop.on_server_event(response_done(function_call('call_t', {'seconds': 0.1, 'label': 'tea'}, name='start_timer')))
    await settle(loop)
    assert browser.types() == ['conversation.item.create', 'response.create']
    await asyncio.sleep(0.2)  # the timer runs out while the loop still waits for the response it asked for
    await settle(loop)
    assert len(browser.sent) == 2 and len(loop.waiting) == 1, 'waits for the response it asked for'
    loop.on_server_error()  # that response.create was refused: no response.done will come
    await settle(loop)
    assert browser.types()[2:] == ['conversation.item.create', 'response.create']


async def test_unrelated_and_malformed_events_are_ignored(loop_and_browser):
    loop, browser = loop_and_browser
    for event in [{}, None, [], 'response.done', {'type': 'response.done', 'response': ['x']},
                  {'type': 'response.done'}, {'type': 'response.done', 'response': {'output': 'x'}},
                  {'type': 'response.output_item.done', 'item': 'x'}, {'type': 'session.created'},
                  {'type': 'response.done', 'response': {'output': [None, 3, {'type': 'message'}]}}]:
        loop.on_server_event(event)
    await settle(loop)
    assert browser.sent == [] and not loop.runner.records


ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=12)
ITEM = st.fixed_dictionaries({'type': st.sampled_from(['function_call', 'message', 'x'])},
                             optional={'call_id': ANY_JSON, 'name': st.sampled_from(['lights', 'nope']) | ANY_JSON,
                                       'arguments': ANY_JSON, 'status': ANY_JSON})
EVENT = st.one_of(
    st.fixed_dictionaries({'type': st.just('response.output_item.done')}, optional={'item': ITEM | ANY_JSON}),
    st.fixed_dictionaries({'type': st.just('response.done')}, optional={'response': st.fixed_dictionaries(
        {}, optional={'status': ANY_JSON, 'output': st.lists(ITEM | ANY_JSON, max_size=4) | ANY_JSON})}),
    st.dictionaries(st.text(max_size=8), ANY_JSON, max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(EVENT, max_size=6), statuses=st.lists(st.sampled_from(['idle', 'listening', 'closed']),
                                                             max_size=2))
def test_hostile_forwarded_events_never_break_the_loop(events, statuses):
    async def scenario():
        browser = Browser()  # validates every client event the loop sends
        loop = ToolLoop(ToolRunner(Toolbox([lights])), browser)
        for event in events:
            loop.on_server_event(event)
        for status in statuses:
            loop.on_status(status)
        await settle(loop)
        await loop.close()
        outputs = [e for e in browser.sent if e['type'] == 'conversation.item.create']
        assert len({e['item']['call_id'] for e in outputs}) == len(outputs)  # never two outputs for one call
        assert browser.types().count('response.create') <= len(outputs)
    asyncio.run(scenario())


async def test_close_session_resets_and_a_new_session_can_call_again(loop_and_browser, monkeypatch):
    monkeypatch.setattr(examples, 'MIN_TIMER_S', 0.01)
    loop, browser = loop_and_browser
    heard = []
    loop.runner.on_announce.subscribe(heard.append)
    loop.on_server_event(response_done(function_call('call_t', {'seconds': 0.1}, name='start_timer')))
    await settle(loop)
    await loop.reset()  # Close Session: the timer goes with it
    await asyncio.sleep(0.2)
    assert heard == [] and not loop.runner.records and loop.runner.state == {}
    loop.on_server_event(response_done(function_call('call_b', {'room': 'hall'})))
    await settle(loop)
    assert browser.sent[-2]['item']['output'] == 'hall lights on'
