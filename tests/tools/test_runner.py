"""The runner: every call ends with an output the model can read, or - cancelled - with none at all."""
import asyncio
import json
import threading
import time

import pytest

from tests.protocol_validation import validate_client_event
from voice_ui.tools import FunctionCall, ToolContext, ToolError, ToolLimits, ToolRunner, ToolStatus, Toolbox, tool

release = threading.Event()


@tool
async def slow(seconds: float, label: str = 'slow') -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return f'{label} done'


@tool
def blocking(seconds: float) -> dict:
    """A sync tool: runs in a worker thread, so the loop stays free."""
    time.sleep(seconds)
    return {'slept': seconds, 'thread': threading.current_thread().name}


@tool(timeout=0.2)
async def hangs() -> str:
    """Never answers."""
    await asyncio.Event().wait()


@tool
def broken(x: int) -> int:
    """Raises."""
    raise RuntimeError(f'kaput {x}')


@tool
def refuses() -> str:
    """Raises a ToolError."""
    raise ToolError('the garage door is jammed')


@tool
def huge() -> str:
    """Too much output."""
    return 'x' * 100_000


@tool
def nothing() -> None:
    """Returns None."""


TOOLS = Toolbox([slow, blocking, hangs, broken, refuses, huge, nothing])


def call(name: str, arguments: dict | str = '', call_id: str = 'call_1') -> FunctionCall:
    return FunctionCall(call_id, name, arguments if isinstance(arguments, str) else json.dumps(arguments))


@pytest.fixture
async def runner():
    r = ToolRunner(TOOLS)
    yield r
    await r.close()


async def test_a_call_answers_and_its_reply_is_ga_conformant(runner):
    reply = await runner.reply([call('slow', {'seconds': 0.01, 'label': 'tea'})])
    assert reply.respond and [e['type'] for e in reply.events] == ['conversation.item.create', 'response.create']
    assert reply.outputs[0]['item'] == {'type': 'function_call_output', 'call_id': 'call_1', 'output': 'tea done'}
    for event in reply.events:
        validate_client_event(event)
    record = runner.record('call_1')
    assert record.status == ToolStatus.DONE and record.result == 'tea done' and record.duration_s >= 0.01
    assert json.loads(record.arguments) == {'seconds': 0.01, 'label': 'tea'}


async def test_sync_tools_run_in_a_worker_thread_without_blocking_the_loop(runner):
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    output = json.loads(await runner.run(call('blocking', {'seconds': 0.2})))
    ticker.cancel()
    assert output['thread'] == 'voice-ui-tool blocking' and ticks >= 5


@tool(timeout=0.1)
def stuck() -> str:
    """A sync tool that never returns: its daemon thread cannot hold the process at exit."""
    release.wait()
    return 'freed'


async def test_hung_sync_tools_time_out_and_their_threads_are_capped(runner, monkeypatch):
    from voice_ui.tools import execution
    monkeypatch.setattr(execution, '_threads', threading.BoundedSemaphore(2))
    monkeypatch.setattr(execution, 'MAX_TOOL_THREADS', 2)
    box = ToolRunner(Toolbox([stuck]))
    outputs = [await box.run(call('stuck', call_id=f'call_{i}')) for i in range(3)]
    assert [json.loads(o)['error'] for o in outputs] == [
        'stuck did not finish within 0.1 s', 'stuck did not finish within 0.1 s',
        'too many tools are still running in threads (at most 2)']
    assert all(t.daemon for t in threading.enumerate() if t.name == 'voice-ui-tool stuck')
    release.set()  # the threads finish; their late results go nowhere
    for _ in range(50):
        if not any(t.name == 'voice-ui-tool stuck' for t in threading.enumerate()):
            break
        await asyncio.sleep(0.01)
    assert await box.run(call('stuck', call_id='call_after')) == 'freed'  # slots are back
    await box.close()


@pytest.mark.parametrize('name, arguments, expected', [
    ('hangs', '', 'hangs did not finish within 0.2 s'),
    ('broken', {'x': 3}, 'broken failed: RuntimeError: kaput 3'),
    ('refuses', '', 'the garage door is jammed'),
    ('missing', '{}', "unknown tool 'missing' (available: slow, blocking, hangs, broken, refuses, huge, nothing)"),
    ('broken', {'x': 'three'}, 'invalid arguments: x: Input should be a valid integer, unable to parse string as an '
                               'integer'),
    ('broken', {}, 'invalid arguments: x: Field required'),
    ('broken', {'x': 1, 'y': 2}, 'invalid arguments: y: Extra inputs are not permitted'),
    ('broken', '{"x": 1', 'arguments are not valid JSON (Expecting \',\' delimiter: line 1 column 8 (char 7))'),
    ('broken', '[1]', 'arguments must be a JSON object, got list'),
])
async def test_failures_become_an_error_output_the_model_can_read(runner, name, arguments, expected):
    reply = await runner.reply([call(name, arguments)])
    assert reply.respond  # the model answers: it says what went wrong, the conversation goes on
    assert json.loads(reply.outputs[0]['item']['output']) == {'error': expected}
    record = runner.record('call_1')
    assert record.status == ToolStatus.ERROR and record.error == expected and record.result == ''


async def test_outputs_are_bounded_and_none_reads_as_done():
    runner = ToolRunner(TOOLS, ToolLimits(max_output_chars=1000, max_display_chars=100))
    output = await runner.run(call('huge'))
    assert len(output) == 1000 and output.endswith('[truncated 99000 characters]')
    assert len(runner.record('call_1').result) == 100
    assert await runner.run(call('nothing', call_id='call_2')) == 'done'


async def test_parallel_calls_run_concurrently_and_are_answered_with_one_response(runner):
    calls = [call('slow', {'seconds': 0.3, 'label': str(i)}, f'call_{i}') for i in range(4)]
    started = time.monotonic()
    reply = await runner.reply(calls)
    assert time.monotonic() - started < 0.9
    assert [o['item']['output'] for o in reply.outputs] == ['0 done', '1 done', '2 done', '3 done']
    assert [e['type'] for e in reply.events].count('response.create') == 1


async def test_a_barge_in_cancels_running_calls_and_nothing_is_sent_for_them(runner):
    runner.start(call('slow', {'seconds': 0.01, 'label': 'quick'}, 'call_quick'))
    runner.start(call('slow', {'seconds': 5}, 'call_slow'))
    pending = asyncio.create_task(runner.reply([call('slow', '', 'call_quick'), call('slow', '', 'call_slow')]))
    await asyncio.sleep(0.1)
    assert runner.cancel_running() == ['call_slow']
    reply = await pending
    # The finished call's output is a fact worth keeping; no output for the cancelled one, and no response.create:
    # the person's turn brings its own.
    assert [o['item']['call_id'] for o in reply.outputs] == ['call_quick'] and not reply.respond
    assert runner.record('call_slow').status == ToolStatus.CANCELLED and runner.record('call_slow').output is None


async def test_each_output_is_handed_out_once(runner):
    first = await runner.reply([call('nothing')])
    again = await runner.reply([call('nothing')])  # e.g. the browser forwarded the same response twice
    assert first.respond and len(first.outputs) == 1
    assert again.outputs == [] and not again.respond and len(runner.records) == 1


async def test_a_cancelled_response_gets_outputs_but_no_new_response(runner):
    reply = await runner.reply([call('nothing')], respond=False)
    assert len(reply.outputs) == 1 and reply.events == reply.outputs


async def test_close_cancels_calls_and_later_calls_are_refused():
    runner = ToolRunner(TOOLS)
    record = runner.start(call('slow', {'seconds': 5}))
    await runner.close()
    assert record.status == ToolStatus.CANCELLED
    late = await runner.reply([call('nothing', call_id='call_2')])
    assert not late.respond and json.loads(late.outputs[0]['item']['output']) == {'error': 'the session is closed'}


async def test_too_many_calls_at_once_get_an_error_not_a_thread_each():
    runner = ToolRunner(TOOLS, ToolLimits(max_running=2))
    for i in range(2):
        runner.start(call('slow', {'seconds': 5}, f'call_{i}'))
    extra = runner.start(call('slow', {'seconds': 5}, 'call_extra'))
    assert extra.status == ToolStatus.ERROR and 'too many tool calls at once' in extra.error
    await runner.close()


async def test_records_are_bounded_and_new_calls_are_announced_for_cards():
    runner = ToolRunner(TOOLS, ToolLimits(max_records=3))
    seen = []
    runner.on_call.subscribe(seen.append)
    for i in range(10):
        await runner.run(call('nothing', call_id=f'call_{i}'))
    assert list(runner.records) == ['call_7', 'call_8', 'call_9'] and len(seen) == 10


async def test_hostile_ids_and_names_are_bounded(runner):
    record = runner.start(FunctionCall('c' * 10_000, 'n' * 10_000, ''))
    await runner.reply([FunctionCall(record.call_id, record.name, '')])
    assert len(record.call_id) <= 128 and len(record.name) <= 128 and record.status == ToolStatus.ERROR


@tool
def sync_announcer(text: str, context: ToolContext) -> str:
    """A sync tool (worker thread) reaching the session's loop."""
    async def later():
        context.announce(f'later: {text}')
    context.announce(text)
    assert context.run_in_background(later()) is None  # scheduled from a thread: no task to hand back
    return 'ok'


@tool
def exits() -> None:
    """Calls sys.exit, as a careless argparse would."""
    raise SystemExit(2)


async def test_sync_tools_may_announce_and_run_background_work_from_their_thread():
    runner = ToolRunner(Toolbox([sync_announcer, exits]))
    heard = []
    runner.on_announce.subscribe(lambda a: heard.append(a.text))
    assert await runner.run(call('sync_announcer', {'text': 'hi'})) == 'ok'
    for _ in range(50):
        await asyncio.sleep(0.01)
    assert heard == ['hi', 'later: hi']
    output = await runner.run(call('exits', call_id='call_2'))
    assert json.loads(output) == {'error': 'exits failed: SystemExit: 2'}
    await runner.close()
