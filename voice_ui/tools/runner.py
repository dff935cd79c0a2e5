"""Runs the model's function calls for one voice session and says what to send back.

The page hands over each `function_call` the browser forwards (`start`, as soon as the item is done, so slow
tools start early) and, once the response is done, asks for the reply (`reply`): the outputs of every finished
call and a single `response.create`. Parallel calls of one response run concurrently and are answered together,
so the model answers once. A barge-in or close (`cancel_running`, `close`) cancels what still runs: a cancelled
call produces no output, and an interrupted batch does not ask for a response (the person's turn brings one).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from nicegui import Event

from .context import Announcement, ToolContext
from .events import ToolReply, function_call_output
from .execution import CallFailed, bounded, display_arguments, error_output, invoke, output_text, parse_arguments
from .record import ToolCallRecord, ToolLimits, ToolStatus
from .toolbox import Toolbox

log = logging.getLogger('voice_ui.tools')


@dataclass(frozen=True)
class FunctionCall:
    """A completed `function_call` item as the browser forwards it (all three fields are the model's)."""
    call_id: str
    name: str
    arguments: str
    item_id: str = ''  # the conversation item (where the transcript places the card)

    @classmethod
    def from_item(cls, item: Any) -> FunctionCall | None:
        """From a GA `function_call` item dict; None for anything else."""
        if not isinstance(item, dict) or item.get('type') != 'function_call':
            return None
        return cls(str(item.get('call_id') or ''), str(item.get('name') or ''), item.get('arguments') or '',
                   str(item.get('id') or ''))


class ToolRunner:
    def __init__(self, toolbox: Toolbox, limits: ToolLimits | None = None) -> None:
        self.toolbox = toolbox
        self.limits = limits or ToolLimits()
        self.records: OrderedDict[str, ToolCallRecord] = OrderedDict()  # by call id, oldest first, bounded
        self.state: dict[str, Any] = {}  # the session's scratch space for tools (e.g. running timers)
        self.on_call: Event[ToolCallRecord] = Event()      # a call started: the page shows a card for it
        self.on_announce: Event[Announcement] = Event()    # a tool speaks up: send `announcement_events(text)`
        self._running: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None  # the session's loop; sync tools call in from threads
        self._closed = False

    # --- the loop ---

    def start(self, call: FunctionCall) -> ToolCallRecord:
        """Begin a call (at most once per call id: a forwarded event seen twice runs once). Needs a running loop."""
        call_id = bounded(str(call.call_id), self.limits.max_id_chars)
        known = self.records.get(call_id)
        if known is not None:
            return known
        name = bounded(str(call.name), self.limits.max_id_chars)
        record = ToolCallRecord(call_id, name, display_arguments(call.arguments, None, self.limits.max_display_chars),
                                item_id=bounded(str(call.item_id), self.limits.max_id_chars))
        self._remember(record)
        if self._closed:
            self._finish(record, error_output('the session is closed'), 'the session is closed', time.monotonic())
        elif len(self._running) >= self.limits.max_running:
            message = f'too many tool calls at once (at most {self.limits.max_running})'
            self._finish(record, error_output(message), message, time.monotonic())
        else:
            self._loop = asyncio.get_running_loop()
            task = self._loop.create_task(self._run(record, call), name=f'tool {name} {call_id}')
            self._running[call_id] = task
            task.add_done_callback(lambda _: self._call_done(record))
        self.on_call.emit(record)
        return record

    async def reply(self, calls: Iterable[FunctionCall], *, respond: bool = True) -> ToolReply:
        """Wait for these calls (starting any not yet started) and say what to send: an output per finished call,
        then `response.create` unless one was cancelled, the session closed, or `respond` is False (e.g. the
        response that made the calls was itself cancelled). Each output is handed out once only."""
        records = [self.start(call) for call in calls]
        tasks = [self._running[r.call_id] for r in records if r.call_id in self._running]
        if tasks:
            await asyncio.wait(tasks)  # wait, not gather: the caller being cancelled must not cancel the calls
        outputs, interrupted = [], self._closed
        for record in records:
            if record.output is None:
                interrupted = True
            elif not record.replied:
                record.replied = True
                outputs.append(function_call_output(record.call_id, record.output))
        return ToolReply(outputs, respond=respond and bool(outputs) and not interrupted)

    async def run(self, call: FunctionCall) -> str | None:
        """One call on its own: its output, or None if it was cancelled."""
        reply = await self.reply([call], respond=False)
        return reply.outputs[0]['item']['output'] if reply.outputs else None

    def cancel_running(self) -> list[str]:
        """Barge-in: cancel every call still running (their cards say "cancelled"). Returns their call ids."""
        cancelled = list(self._running)
        for task in list(self._running.values()):
            task.cancel()
        return cancelled

    async def close(self) -> None:
        """The page is gone: cancel running calls and background work (timers); later calls are refused."""
        self._closed = True
        await self._cancel_all()

    async def reset(self) -> None:
        """Close Session, with the page staying: everything cancelled and forgotten, ready for a new session."""
        await self._cancel_all()
        self.records.clear()
        self.state.clear()

    async def _cancel_all(self) -> None:
        tasks = list(self._running.values()) + list(self._background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def record(self, call_id: str) -> ToolCallRecord | None:
        return self.records.get(call_id)

    # --- one call ---

    async def _run(self, record: ToolCallRecord, call: FunctionCall) -> None:
        started = time.monotonic()
        parsed = None
        try:
            tool = self.toolbox.get(record.name)
            if tool is None:
                known = ', '.join(self.toolbox.names) or 'none'
                raise CallFailed(f'unknown tool {record.name!r} (available: {known})')
            parsed = parse_arguments(call.arguments, self.limits)
            record.arguments = display_arguments(call.arguments, parsed, self.limits.max_display_chars)
            result = await invoke(tool, parsed, self._context(record), self.limits)
            text = bounded(output_text(result), self.limits.max_output_chars)
            self._finish(record, text, '', started)
        except CallFailed as failure:
            self._finish(record, error_output(str(failure)), bounded(str(failure), self.limits.max_display_chars),
                         started)
        except asyncio.CancelledError:
            record.status, record.duration_s = ToolStatus.CANCELLED, time.monotonic() - started
            raise

    def _call_done(self, record: ToolCallRecord) -> None:
        self._running.pop(record.call_id, None)
        if record.status == ToolStatus.RUNNING:  # cancelled before it even began
            record.status, record.duration_s = ToolStatus.CANCELLED, 0.0

    def _finish(self, record: ToolCallRecord, output: str, error: str, started: float) -> None:
        record.output = output
        record.duration_s = time.monotonic() - started
        if error:
            record.error, record.status = error, ToolStatus.ERROR
        else:
            record.result, record.status = bounded(output, self.limits.max_display_chars), ToolStatus.DONE

    def _context(self, record: ToolCallRecord) -> ToolContext:
        return ToolContext(record.call_id, record.name, self.state, self._announce, self._spawn)

    def _announce(self, announcement: Announcement) -> None:
        if self._from_thread():
            self._loop.call_soon_threadsafe(self._announce, announcement)
        elif not self._closed:
            text = bounded(announcement.text, self.limits.max_output_chars)
            self.on_announce.emit(Announcement(announcement.tool, announcement.call_id, text))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        if self._from_thread():  # a sync tool: schedule it on the session's loop; there is no task to hand back yet
            self._loop.call_soon_threadsafe(self._spawn, work)
            return None
        if self._closed:
            work.close()
            return None
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _from_thread(self) -> bool:
        if self._loop is None:
            return False
        try:
            return asyncio.get_running_loop() is not self._loop
        except RuntimeError:  # no loop in this thread: a worker thread running a sync tool
            return self._loop is not None

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning('background work of a tool failed', exc_info=task.exception())

    def _remember(self, record: ToolCallRecord) -> None:
        self.records[record.call_id] = record
        while len(self.records) > self.limits.max_records:
            oldest = next((k for k in self.records if k not in self._running), None)
            if oldest is None:
                break
            del self.records[oldest]
