"""The WebSocket side: authenticates, then drives one `RealtimeEngine` per connection.

Two tasks per connection: the reader feeds client messages to the engine; the pump releases due actions
(sending events, closing) and starts agent work as tasks, so a slow agent never blocks the event loop.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..protocol import (BETA_SUBPROTOCOL, CLOSE_API_VERSION, CLOSE_INVALID_TOKEN, SUBPROTOCOL,
                        TOKEN_SUBPROTOCOL_PREFIX, ErrorCode)
from .actions import Close, Respond, Send, Transcribe
from .server_agent import Agent
from .server_config import LocalRealtimeConfig
from .engine import RealtimeEngine
from .events import error_event
from .introspection import SessionLog, SessionLogs
from .tokens import TokenStore, bearer

log = logging.getLogger(__name__)


async def realtime_websocket(websocket: WebSocket, config: LocalRealtimeConfig, tokens: TokenStore,
                             logs: SessionLogs) -> None:
    offered = list(websocket.scope.get('subprotocols') or [])
    authorization = websocket.headers.get('authorization')
    model = websocket.query_params.get('model')
    session_log = logs.add(SessionLog.start(offered, authorization, model))
    token = next((p.removeprefix(TOKEN_SUBPROTOCOL_PREFIX) for p in offered if p.startswith(TOKEN_SUBPROTOCOL_PREFIX)),
                 None) or bearer(authorization)
    # Never echo the token subprotocol; a browser that offered subprotocols needs one chosen, so it is `realtime`.
    session_log.accepted_subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
    await websocket.accept(subprotocol=session_log.accepted_subprotocol)
    if BETA_SUBPROTOCOL in offered:
        return await reject(websocket, session_log, ErrorCode.API_VERSION_MISMATCH, CLOSE_API_VERSION,
                            f'The {BETA_SUBPROTOCOL} subprotocol is the beta API; this is the GA interface.')
    grant = tokens.grant_for(token, model)
    if grant is None:
        return await reject(websocket, session_log, ErrorCode.INVALID_API_KEY, CLOSE_INVALID_TOKEN,
                            'Incorrect or expired API key or client secret provided.')
    session = {**grant.session, 'id': grant.take_session_id()}
    session_log.session_id = session['id']
    engine = RealtimeEngine(session, time.monotonic(), config.engine, config.faults)
    await Connection(websocket, engine, config.agent, session_log).run()


async def reject(websocket: WebSocket, session_log: SessionLog, code: ErrorCode, close_code: int,
                 message: str) -> None:
    await websocket.send_text(json.dumps(error_event({'type': 'invalid_request_error', 'code': code.value,
                                                      'message': message}, None)))
    session_log.server('error')
    await websocket.close(close_code)
    session_log.outcome, session_log.close_code = f'rejected: {code.value}', close_code


class Connection:
    def __init__(self, websocket: WebSocket, engine: RealtimeEngine, agent: Agent, session_log: SessionLog) -> None:
        self.websocket, self.engine, self.agent, self.log = websocket, engine, agent, session_log
        self.wake = asyncio.Event()
        self.work: set[asyncio.Task] = set()

    async def run(self) -> None:
        reader = asyncio.create_task(self.read())
        pump = asyncio.create_task(self.pump())
        try:
            done, _ = await asyncio.wait({reader, pump}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = None if task.cancelled() else task.exception()
                if isinstance(error, (WebSocketDisconnect, OSError)):  # the client went away mid-send
                    log.debug('client disconnected: %r', error)
                elif error is not None:
                    log.error('local realtime session failed', exc_info=error)
        finally:
            for task in (reader, pump, *self.work):
                task.cancel()
            if self.log.outcome == 'open':
                self.log.outcome = 'closed'

    async def read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message['type'] == 'websocket.disconnect':
                self.log.close_code = self.log.close_code or message.get('code')
                return
            data = message.get('text') if message.get('text') is not None else message.get('bytes', b'')
            self.log.client(data)
            self.engine.receive(data, time.monotonic())
            self.wake.set()

    async def pump(self) -> None:
        while True:
            self.wake.clear()  # before polling: a wake-up during the sends below is not lost
            for action in self.engine.poll(time.monotonic()):
                if isinstance(action, Send):
                    await self.websocket.send_text(json.dumps(action.event))
                    self.log.server(action.event['type'])
                elif isinstance(action, Close):
                    return await self.close(action)
                else:
                    task = asyncio.create_task(self.perform(action))
                    self.work.add(task)
                    task.add_done_callback(self.work.discard)
            due = self.engine.next_due()
            timeout = None if due is None else max(0.0, due - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    async def perform(self, work: Transcribe | Respond) -> None:
        """Run agent work off the pump; the engine hears back with the result or the error message."""
        try:
            if isinstance(work, Transcribe):
                text = await self.agent.transcribe(work.audio, work.language, work.prompt)
                self.engine.transcription_ready(work.item_id, text, None, time.monotonic())
            else:
                reply = await self.agent.respond(work.history, work.audio, work.instructions, work.tools)
                self.engine.reply_ready(work.response_id, reply, None, time.monotonic())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an agent failure is the session's business, not the server's
            log.warning('agent work failed: %r', exc)
            if isinstance(work, Transcribe):
                self.engine.transcription_ready(work.item_id, None, str(exc) or type(exc).__name__, time.monotonic())
            else:
                self.engine.reply_ready(work.response_id, None, str(exc) or type(exc).__name__, time.monotonic())
        self.wake.set()

    async def close(self, action: Close) -> None:
        if action.abort and abort_transport(self.websocket):
            self.log.outcome, self.log.close_code = 'dropped', None
            return
        self.log.outcome, self.log.close_code = 'closed', action.code
        await self.websocket.close(1011 if action.abort else action.code, action.reason)


def abort_transport(websocket: WebSocket) -> bool:
    """Cut the TCP connection without a close frame (the client sees 1006), like a network failure.

    ASGI offers no such thing, so look for the server's transport behind the (possibly wrapped) send callable.
    """
    seen, frontier = set(), [websocket._send]
    for _ in range(8):
        found = []
        for obj in frontier:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            transport = getattr(obj, 'transport', None)
            if transport is not None and hasattr(transport, 'abort'):
                transport.abort()
                return True
            found += [getattr(obj, '__self__', None), getattr(obj, '__wrapped__', None)]
            found += closure_values(obj)
        frontier = [obj for obj in found if obj is not None]
    return False


def closure_values(function: object) -> list[object]:
    values = []
    for cell in getattr(function, '__closure__', None) or ():
        with contextlib.suppress(ValueError):  # an empty cell
            values.append(cell.cell_contents)
    return [value for value in values if not isinstance(value, (str, bytes, int, float, dict))]
