"""The Python half of the loop against the real embedded server: a scripted brain decides to call a tool, a
websocket client stands in for the browser (forwarding server events to `ToolLoop`, sending what it returns),
and the agent's answer carries the tool's real result."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.local_realtime.serving import API_KEY, open_session, serve
from voice_ui.config import Settings
from voice_ui.local_realtime.server_agent import BrainAgent
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.session_config import session_config, session_update
from voice_ui.speech.scripted_brain import ScriptedBrain, after_tool, call_tool, when_heard
from voice_ui.tools import Toolbox, ToolRunner, examples
from voice_ui.tools.loop import ToolLoop


def brain() -> ScriptedBrain:
    def answer(name: str, output: str) -> str:
        if name != 'current_time':
            return output  # e.g. "The tea timer is set for 0 seconds."
        result = json.loads(output)
        return f'It is {result["spoken"]} in Berlin.' if 'spoken' in result else f'Sorry: {result["error"]}.'
    return ScriptedBrain(when_heard('time in Berlin', call_tool('current_time', {'timezone': 'Europe/Berlin'})),
                         when_heard('time on Mars', call_tool('current_time', {'timezone': 'Mars/Olympus'})),
                         when_heard('timer', call_tool('start_timer', {'seconds': 0.3, 'label': 'tea'})),
                         after_tool(answer), announce)


def announce(history, tools) -> str | None:
    """The model's part when a timer's system message arrives: tell the person."""
    latest = history[-1] if history else None
    if latest is not None and latest.role == 'system' and 'tea timer' in latest.text:
        return 'Your tea timer is done!'
    return None


@pytest.fixture(scope='module')
def server_url():
    config = LocalRealtimeConfig(api_keys={API_KEY}, agent=BrainAgent(brain()),
                                 engine=EngineOptions(pacing=Pacing.BURST))
    with serve(config) as served:
        yield served.url


class Browser:
    """What the page's JS does for tools: forward server events, send the loop's client events as they are."""

    def __init__(self, client) -> None:
        self.client = client
        self.loop: ToolLoop | None = None

    async def send(self, events: list[dict]) -> None:
        for event in events:
            await self.client.send(event)

    async def say(self, text: str) -> None:
        await self.client.send({'type': 'conversation.item.create', 'item': {
            'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': text}]}})
        await self.client.send({'type': 'response.create'})

    async def until_answer(self, timeout: float = 10) -> str:
        """Forward events until a response finishes with a spoken (text) message; its text."""
        while True:
            event = await self.client.recv(timeout)
            assert event['type'] != 'error', event
            self.loop.on_server_event(event)
            if event['type'] == 'response.done':
                messages = [i for i in event['response']['output'] if i['type'] == 'message']
                if messages:
                    self.loop.on_status('idle')
                    return ''.join(p.get('text') or p.get('transcript') or '' for p in messages[0]['content'])


async def session_with_tools(server_url: str):
    settings = Settings(tools=Toolbox.from_modules([], examples=True))
    client = await open_session(server_url, {**session_config(settings), 'output_modalities': ['text']})
    browser = Browser(client)
    browser.loop = ToolLoop(ToolRunner(settings.tools), browser.send)
    await client.send({'type': 'session.update', 'session': {**session_update(settings),
                                                             'output_modalities': ['text']}})
    await client.until('session.updated')
    return client, browser


async def test_a_request_leads_to_a_real_tool_call_and_an_answer_with_its_result(server_url):
    client, browser = await session_with_tools(server_url)
    await browser.say('What is the time in Berlin?')
    answer = await browser.until_answer()
    now = datetime.now(ZoneInfo('Europe/Berlin'))
    assert answer.startswith('It is ') and f'{now:%B %Y}' in answer and answer.endswith(' in Berlin.')
    (record,) = browser.loop.runner.records.values()
    assert record.status == 'done' and record.name == 'current_time'
    outputs = [e for e in client.seen if e['type'] == 'conversation.item.added'
               and e['item']['type'] == 'function_call_output']
    assert len(outputs) == 1 and outputs[0]['item']['call_id'] == record.call_id
    await browser.loop.close()
    await client.connection.close()


async def test_a_failing_call_is_answered_with_its_error_and_the_conversation_goes_on(server_url):
    client, browser = await session_with_tools(server_url)
    await browser.say('What is the time on Mars?')
    assert (await browser.until_answer()).startswith("Sorry: unknown time zone 'Mars/Olympus'")
    await browser.say('And the time in Berlin?')
    assert (await browser.until_answer()).endswith(' in Berlin.')
    await browser.loop.close()
    await client.connection.close()


async def test_a_timer_announces_itself_through_the_conversation(server_url, monkeypatch):
    monkeypatch.setattr(examples, 'MIN_TIMER_S', 0.01)
    client, browser = await session_with_tools(server_url)
    await browser.say('Set a timer please')
    assert (await browser.until_answer()).startswith('The tea timer is set')  # the brain voices the output
    announced = await browser.until_answer(timeout=5)  # the timer runs out: a system message and a response
    system = [e for e in client.seen if e['type'] == 'conversation.item.added' and e['item'].get('role') == 'system']
    assert len(system) == 1 and 'tea timer' in system[0]['item']['content'][0]['text']
    assert announced == 'Your tea timer is done!'  # the agent speaks up, unprompted by the person
    await browser.loop.close()
    await client.connection.close()
