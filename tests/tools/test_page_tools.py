"""The tool loop wired into the page, under the user simulation (no JS runs: the component's events are triggered,
the calls Python makes into the browser are recorded): a function_call item becomes a tool card that fills in,
its output goes back as a `conversation.item.create` plus one `response.create`, and Close clears it all."""
import asyncio
import json

from nicegui import ui
from nicegui.testing import User

from tests.protocol_validation import validate_client_event, validate_server_event
from voice_ui.access import Identity, create_access
from voice_ui.config import Settings
from voice_ui.page import Backend, VoicePage
from voice_ui.protocol import UiEvent
from voice_ui.realtime_session import RealtimeSession
from voice_ui.token_service import TokenService
from voice_ui.tools import Toolbox
from voice_ui.tools.card import ToolCard

CALL = {'id': 'item_fc', 'type': 'function_call', 'object': 'realtime.item', 'status': 'completed',
        'name': 'current_time', 'call_id': 'call_1', 'arguments': '{"timezone": "Europe/Berlin"}'}


def ev(event: dict) -> dict:
    validate_server_event(event)
    return event


def tool_page(path: str, sent: list[dict], monkeypatch) -> None:
    def send_events(self, events):
        for event in events:
            validate_client_event(event)
        sent.extend(events)
    monkeypatch.setattr(RealtimeSession, 'send_events', send_events)
    settings = Settings(api_key='sk-x', tools=Toolbox.from_modules([], examples=True))
    backend = Backend(settings, TokenService(settings), 'test', None)
    access = create_access(settings)

    @ui.page(path)
    def page() -> None:
        VoicePage(backend, access, Identity('', 'ip:test', 'anonymous'))


def cards(user: User) -> list[ToolCard]:
    return [e for e in user.client.layout.descendants() if isinstance(e, ToolCard)]


async def until(condition, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError('condition not met in time')


async def test_a_function_call_shows_a_card_that_fills_and_its_output_goes_back(user: User, monkeypatch):
    sent: list[dict] = []
    tool_page('/with-tools', sent, monkeypatch)
    await user.open('/with-tools')
    session = user.find(RealtimeSession)
    session.trigger(UiEvent.STATUS, {'status': 'thinking', 'turn': 1})
    session.trigger(UiEvent.SERVER_EVENT, ev({'type': 'conversation.item.added', 'event_id': 'e1',
                                              'previous_item_id': None,
                                              'item': {**CALL, 'status': 'in_progress', 'arguments': ''}}))
    await user.should_see('Tool call…')  # shown at once, before the arguments are complete
    session.trigger(UiEvent.SERVER_EVENT, ev({'type': 'conversation.item.done', 'event_id': 'e2',
                                              'previous_item_id': None, 'item': CALL}))
    session.trigger(UiEvent.SERVER_EVENT, ev({'type': 'response.done', 'event_id': 'e3', 'response': {
        'id': 'resp_1', 'object': 'realtime.response', 'status': 'completed', 'output': [CALL]}}))
    await user.should_see('Tool · current_time')
    await user.should_see('Europe/Berlin')
    await until(lambda: len(sent) == 2)
    assert [e['type'] for e in sent] == ['conversation.item.create', 'response.create']
    assert sent[0]['item']['call_id'] == 'call_1'
    assert json.loads(sent[0]['item']['output'])['timezone'] == 'Europe/Berlin'
    assert len(cards(user)) == 1  # item.added, item.done and response.done of one call: one card
    await until(lambda: cards(user)[0].status == 'done')
    user.find('Close Session').click()
    await user.should_not_see('Tool · current_time')


async def test_a_barge_in_before_the_call_ran_sends_no_response(user: User, monkeypatch):
    sent: list[dict] = []
    tool_page('/barge-in', sent, monkeypatch)
    await user.open('/barge-in')
    session = user.find(RealtimeSession)
    session.trigger(UiEvent.STATUS, {'status': 'listening', 'turn': 2})  # the person talks over the agent
    session.trigger(UiEvent.SERVER_EVENT, ev({'type': 'conversation.item.done', 'event_id': 'e2',
                                              'previous_item_id': None, 'item': CALL}))
    session.trigger(UiEvent.SERVER_EVENT, ev({'type': 'response.done', 'event_id': 'e3', 'response': {
        'id': 'resp_1', 'object': 'realtime.response', 'status': 'cancelled', 'output': [CALL]}}))
    await user.should_see('Tool call…')
    await asyncio.sleep(0.3)
    assert not any(e['type'] == 'response.create' for e in sent), sent  # the person's own turn gets the reply
