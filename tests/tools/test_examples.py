"""The built-in example tools, run the way the agent runs them: through a ToolRunner."""
import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.protocol_validation import validate_client_event
from voice_ui.tools import FunctionCall, ToolRunner, ToolStatus, Toolbox, announcement_events, examples


@pytest.fixture
async def runner():
    r = ToolRunner(Toolbox.from_modules([], examples=True))
    yield r
    await r.close()


async def run(runner: ToolRunner, name: str, arguments: dict, call_id: str = 'call_1') -> str:
    return await runner.run(FunctionCall(call_id, name, json.dumps(arguments)))


@pytest.mark.parametrize('zone', ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'UTC'])
async def test_current_time_in_a_time_zone(runner, zone):
    answer = json.loads(await run(runner, 'current_time', {'timezone': zone}))
    now = datetime.now(ZoneInfo(zone))
    told = datetime.fromisoformat(answer['iso'])
    assert answer['timezone'] == zone and abs((told - now).total_seconds()) < 5
    assert told.utcoffset() == now.utcoffset() and str(now.year) in answer['spoken']


@pytest.mark.parametrize('zone', ['Mars/Olympus', '../../etc/passwd', '', '/abs'])
async def test_an_unknown_time_zone_is_a_clear_error(runner, zone):
    error = json.loads(await run(runner, 'current_time', {'timezone': zone}))['error']
    assert error.startswith('unknown time zone') and 'IANA' in error


async def test_a_timer_announces_itself_when_it_runs_out(runner, monkeypatch):
    monkeypatch.setattr(examples, 'MIN_TIMER_S', 0.01)
    heard = []
    runner.on_announce.subscribe(heard.append)
    assert await run(runner, 'start_timer', {'seconds': 0.2, 'label': 'tea'}) == 'The tea timer is set for 0 seconds.'
    assert json.loads(await run(runner, 'list_timers', {}, 'call_2')) == [{'label': 'tea', 'seconds_left': 0}]
    assert heard == []
    await asyncio.sleep(0.4)
    (announcement,) = heard
    assert announcement.tool == 'start_timer' and announcement.call_id == 'call_1'
    assert 'tea timer' in announcement.text and 'finished' in announcement.text
    for event in announcement_events(announcement.text):  # what the page has the browser send
        validate_client_event(event)
    assert json.loads(await run(runner, 'list_timers', {}, 'call_3')) == []


async def test_a_cancelled_timer_stays_silent(runner, monkeypatch):
    monkeypatch.setattr(examples, 'MIN_TIMER_S', 0.01)
    heard = []
    runner.on_announce.subscribe(heard.append)
    await run(runner, 'start_timer', {'seconds': 0.2, 'label': 'eggs'})
    assert await run(runner, 'cancel_timer', {'label': 'eggs'}, 'call_2') == 'The eggs timer is cancelled.'
    await asyncio.sleep(0.3)
    assert heard == []
    error = json.loads(await run(runner, 'cancel_timer', {'label': 'eggs'}, 'call_3'))['error']
    assert error == "no timer called 'eggs' is running (running: none)"


async def test_closing_the_session_silences_its_timers(runner, monkeypatch):
    monkeypatch.setattr(examples, 'MIN_TIMER_S', 0.01)
    heard = []
    runner.on_announce.subscribe(heard.append)
    await run(runner, 'start_timer', {'seconds': 0.1})
    await runner.close()
    await asyncio.sleep(0.2)
    assert heard == []


@pytest.mark.parametrize('arguments, message', [
    ({}, 'a timer runs between 1 second and 24 hours; got 0 seconds'),
    ({'minutes': 2000}, 'invalid arguments: minutes: Input should be less than or equal to 1440'),
    ({'seconds': -1}, 'invalid arguments: seconds: Input should be greater than or equal to 0'),
])
async def test_timer_bounds(runner, arguments, message):
    assert json.loads(await run(runner, 'start_timer', arguments))['error'] == message


async def test_timer_labels_are_unique_per_session_and_sessions_are_apart(runner):
    await run(runner, 'start_timer', {'minutes': 5, 'label': 'pasta'})
    error = json.loads(await run(runner, 'start_timer', {'minutes': 1, 'label': 'pasta'}, 'call_2'))['error']
    assert 'already running' in error and runner.record('call_2').status == ToolStatus.ERROR
    other = ToolRunner(runner.toolbox)
    assert await run(other, 'list_timers', {}) == '[]'  # another tab's timers are its own


@pytest.mark.parametrize('seconds, spoken', [(1, '1 second'), (90, '1 minute 30 seconds'), (3600, '1 hour'),
                                             (86400, '24 hours'), (7322, '2 hours 2 minutes 2 seconds')])
def test_durations_read_aloud(seconds, spoken):
    assert examples._spoken(seconds) == spoken


async def test_the_recorded_request_set_a_timer_for_ten_minutes(runner):
    # tests/testdata/timer.*.wav says "set a timer for ten minutes": what the model would call, and what it reads
    assert await run(runner, 'start_timer', {'minutes': 10}) == 'The timer is set for 10 minutes.'
    assert json.loads(await run(runner, 'list_timers', {}, 'call_2'))[0]['seconds_left'] in (599, 600)
