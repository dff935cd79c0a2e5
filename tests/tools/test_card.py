"""Tool cards under NiceGUI's user simulation: bound to their record, so a finished call shows at once."""
import json

from nicegui import ui
from nicegui.testing import User

from voice_ui.tools import FunctionCall, ToolCallRecord, ToolRunner, ToolStatus, Toolbox, examples
from voice_ui.tools.card import ToolCard, duration_text


def card_of(user: User) -> ToolCard:
    (card,) = [e for e in user.client.layout.descendants() if isinstance(e, ToolCard)]
    return card


async def test_a_card_shows_the_call_and_follows_its_record(user: User):
    record = ToolCallRecord('call_1', 'current_time', '{\n "timezone": "UTC"\n}')

    @ui.page('/tool-card')
    def page() -> None:
        ToolCard(record)

    await user.open('/tool-card')
    await user.should_see('Tool · current_time')
    await user.should_see('running…')
    await user.should_see('"timezone": "UTC"')
    assert 'vu-tool-card' in card_of(user).classes
    record.result, record.duration_s, record.status = '{"iso": "2026-12-01T12:00:00+00:00"}', 0.0123, ToolStatus.DONE
    await user.should_see('2026-12-01T12:00:00')
    await user.should_see('12 ms')
    await user.should_see('done')
    await user.should_not_see('running…')
    assert 'vu-tool-done-status' in card_of(user).classes


async def test_an_error_and_a_cancellation_look_different(user: User):
    failed = ToolCallRecord('call_1', 'start_timer', '{}')
    cancelled = ToolCallRecord('call_2', 'slow_tool', '')

    @ui.page('/tool-cards')
    def page() -> None:
        ToolCard(failed)
        ToolCard(cancelled)

    await user.open('/tool-cards')
    failed.error, failed.duration_s, failed.status = 'a timer runs between 1 second and 24 hours', 2.5, ToolStatus.ERROR
    cancelled.status = ToolStatus.CANCELLED
    await user.should_see('a timer runs between 1 second and 24 hours')
    await user.should_see('failed')
    await user.should_see('2.5 s')
    await user.should_see('cancelled')
    await user.should_see('(none)')  # no arguments at all
    cards = [e for e in user.client.layout.descendants() if isinstance(e, ToolCard)]
    assert 'vu-tool-error-status' in cards[0].classes and 'vu-tool-cancelled-status' in cards[1].classes


async def test_markup_in_arguments_or_results_is_shown_as_text(user: User):
    record = ToolCallRecord('call_1', 'echo', '<img src=x onerror=alert(1)>', result='<b>bold</b>',
                            status=ToolStatus.DONE)

    @ui.page('/tool-card-markup')
    def page() -> None:
        ToolCard(record)

    await user.open('/tool-card-markup')
    await user.should_see('<img src=x onerror=alert(1)>')
    await user.should_see('<b>bold</b>')
    assert 'vu-tool-done-status' in card_of(user).classes  # a finished record shows finished from the start
    assert not any(isinstance(e, ui.html) for e in user.client.layout.descendants())


async def test_cards_for_a_runner_s_calls_as_a_page_would_wire_them(user: User):
    runner = ToolRunner(Toolbox.from_modules([], examples=True))

    @ui.page('/tool-runner')
    def page() -> None:
        with ui.column() as column:
            pass

        def add_card(record: ToolCallRecord) -> None:
            with column:
                ToolCard(record)
        runner.on_call.subscribe(add_card)

    await user.open('/tool-runner')
    await runner.run(FunctionCall('call_1', 'current_time', json.dumps({'timezone': 'Mars/Base'})))
    await user.should_see('Tool · current_time')
    await user.should_see("unknown time zone 'Mars/Base'")
    await runner.close()


def test_durations():
    assert [duration_text(s) for s in (None, 0.0004, 0.25, 1.0, 12.34)] == ['', '0 ms', '250 ms', '1.0 s', '12.3 s']
    assert examples.current_time.name == 'current_time'


async def test_a_card_for_an_item_binds_when_its_call_starts(user: User):
    runner = ToolRunner(Toolbox.from_modules([], examples=True))

    @ui.page('/tool-item')
    def page() -> None:
        ToolCard.for_item(runner, 'item_7')  # the transcript saw the function_call item: arguments still streaming

    await user.open('/tool-item')
    await user.should_see('Tool call…')
    await runner.run(FunctionCall('call_other', 'list_timers', '', item_id='item_other'))  # another item's call
    await user.should_see('Tool call…')
    await runner.run(FunctionCall('call_7', 'current_time', '{"timezone": "UTC"}', item_id='item_7'))
    await user.should_see('Tool · current_time')
    await user.should_see('"timezone": "UTC"')
    assert 'vu-tool-done-status' in card_of(user).classes
    await runner.close()
