"""The function-calling loop as the page sees it: server events in (forwarded by the browser, audio stripped),
client events out (sent by the browser as they are). Python runs tools; it never drives the turn state.

- `response.output_item.done` or `conversation.item.done` with a completed `function_call` item: the call starts
  at once (whichever of the two the browser forwards; a call starts once however often it is seen).
- `response.done` listing function calls: once they are all answered, their outputs go out, then one
  `response.create` (none if that response was cancelled, or a call was: the person is talking).
- The mirrored status turning `listening` (the person barges in): running calls are cancelled, and calls of the
  interrupted response that had not started yet never start (the person cut the agent off before they ran).
- A tool's announcement (a timer ran out) waits until the session is idle with no tool reply pending.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ..protocol import ClientEvent as C, ResponseStatus, ServerEvent as S
from .context import Announcement
from .events import announcement_events
from .runner import FunctionCall, ToolRunner

log = logging.getLogger('voice_ui.tools')
Send = Callable[[list[dict]], Awaitable[Any] | Any]
BARGE_IN_STATUSES = {'listening'}         # the person started a turn: what still runs is no longer wanted
GONE_STATUSES = {'closed', 'error'}       # the socket is gone: outputs could not be delivered anyway
IDLE = 'idle'
MAX_WAITING_ANNOUNCEMENTS = 8


class ToolLoop:
    def __init__(self, runner: ToolRunner, send: Send) -> None:
        self.runner = runner
        self.send = send  # e.g. `lambda events: session.run_method('send_events', events)`
        self.status = IDLE
        self.waiting: deque[Announcement] = deque(maxlen=MAX_WAITING_ANNOUNCEMENTS)  # oldest dropped beyond it
        self._replies: set[asyncio.Task[None]] = set()
        self._expecting_response = False  # we asked for a response: the next announcement waits for its end
        runner.on_announce.subscribe(self._on_announce, unsubscribe_on_delete=False)

    def on_server_event(self, event: dict) -> None:
        """Feed every forwarded server event; anything that is not about function calls is ignored."""
        kind = event.get('type') if isinstance(event, dict) else None
        if kind in (S.OUTPUT_ITEM_DONE, S.ITEM_DONE):
            item = event.get('item')
            call = FunctionCall.from_item(item)
            if call is not None and _completed(item) and self.status not in BARGE_IN_STATUSES:
                self.runner.start(call)
        elif kind == S.ERROR:
            self.on_server_error()
        elif kind == S.RESPONSE_DONE:
            self._expecting_response = False
            response = event.get('response') if isinstance(event.get('response'), dict) else {}
            output = response.get('output') if isinstance(response.get('output'), list) else []
            calls = [c for item in output if (c := FunctionCall.from_item(item)) is not None and _completed(item)]
            respond = response.get('status') == ResponseStatus.COMPLETED
            if not respond:  # cancelled or cut short: answer what already ran, start nothing new
                calls = [c for c in calls if self.runner.record(c.call_id) is not None]
            if calls:
                task = asyncio.get_running_loop().create_task(self._reply(calls, respond))
                self._replies.add(task)
                task.add_done_callback(self._reply_done)
            self._flush_announcements()

    def on_server_error(self) -> None:
        """A Realtime `error` (the browser reports it apart from the forwarded events): e.g. our response.create
        was refused. The response it asked for will not come, so announcements must not wait for it."""
        self._expecting_response = False
        self._flush_announcements()

    def on_status(self, status: str) -> None:
        """Feed the browser's status events (the JS owns the turn state; this only mirrors it)."""
        self.status = status
        if status in BARGE_IN_STATUSES or status in GONE_STATUSES:
            self.runner.cancel_running()
        self._flush_announcements()

    async def reset(self) -> None:
        """Close Session: cancel calls, replies and the tools' background work (timers); the page may start anew."""
        self._stop_replies()
        await self.runner.reset()

    async def close(self) -> None:
        """The page is gone: as `reset`, and the runner refuses later calls."""
        self._stop_replies()
        await self.runner.close()

    def _stop_replies(self) -> None:
        for task in list(self._replies):
            task.cancel()
        self.waiting.clear()
        self._expecting_response = False

    @property
    def busy(self) -> bool:
        """A tool reply is still being prepared or sent: the model is not done with its turn."""
        return bool(self._replies)

    # --- internals ---

    async def _reply(self, calls: list[FunctionCall], respond: bool) -> None:
        reply = await self.runner.reply(calls, respond=respond)
        if reply.events:
            await self._send(reply.events)

    def _reply_done(self, task: asyncio.Task[None]) -> None:
        self._replies.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning('sending tool outputs failed', exc_info=task.exception())
        self._flush_announcements()

    def _on_announce(self, announcement: Announcement) -> None:
        self.waiting.append(announcement)
        self._flush_announcements()

    def _flush_announcements(self) -> None:
        if self.status != IDLE or self.busy or self._expecting_response or not self.waiting:
            return
        announcement = self.waiting.popleft()  # one at a time: the next waits until its answer is over
        task = asyncio.get_running_loop().create_task(self._send(announcement_events(announcement.text)))
        self._replies.add(task)
        task.add_done_callback(self._reply_done)

    async def _send(self, events: list[dict]) -> None:
        self._expecting_response = self._expecting_response or events[-1].get('type') == C.RESPONSE_CREATE
        result = self.send(events)
        if inspect.isawaitable(result):
            await result


def _completed(item: Any) -> bool:
    """A function call whose arguments are complete (a cancelled response leaves them `incomplete`)."""
    return isinstance(item, dict) and item.get('status', 'completed') == 'completed'
