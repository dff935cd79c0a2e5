"""The WebSocket side: authenticates, admits within the session bounds, then drives one `RealtimeEngine`.

Two tasks per connection: the reader feeds client messages to the engine; the pump releases due actions
(sending events, closing) and starts agent work as tasks, so a slow agent never blocks the event loop. The
engine validates every message (text or binary); the reader stops reading while a client leaves too many
events unread, so a peer that never reads cannot grow the server's memory.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..protocol import (BETA_SUBPROTOCOL, CLOSE_API_VERSION, CLOSE_INVALID_TOKEN, SUBPROTOCOL,
                        TOKEN_SUBPROTOCOL_PREFIX, ErrorCode)
from .actions import Close, Respond, Send, Transcribe
from .connection_abort import abort_transport
from .engine import RealtimeEngine
from .events import error_event
from .introspection import SessionLog, SessionLogs
from .limits import ServerLimits
from .server_agent import Agent
from .server_config import LocalRealtimeConfig
from .session_guard import failed
from .streamed_work import CheckAgent, agent_seat, hearing_for, perform_streamed
from .tokens import Grant, TokenStore, bearer
from .end_of_turn import ScoreTurn
from .neural_vad import ScoreVoice
from .turn_events import voice_failed, voice_scored

log = logging.getLogger(__name__)
CLOSE_POLICY = 1008       # policy violation; before accept, the handshake is refused (HTTP 403)
CLOSE_TRY_AGAIN = 1013    # too many open sessions
MAX_MODEL_CHARS = 200     # `?model=`, as a minted session's model


class OpenSessions:
    """Counts open sessions per process and per ephemeral token, against the configured bounds."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits, self.count = limits, 0

    def refusal(self, grant: Grant) -> str | None:
        if self.count >= self.limits.max_sessions:
            return f'This server already has {self.count} open sessions (its limit). Try again later.'
        if grant.expires_at is not None and grant.open_sessions >= self.limits.max_sessions_per_token:
            return f'This client secret already has {grant.open_sessions} open sessions (the limit).'
        return None

    @contextlib.contextmanager
    def holding(self, grant: Grant):
        self.count += 1
        grant.open_sessions += 1
        try:
            yield
        finally:
            self.count -= 1
            grant.open_sessions -= 1


async def realtime_websocket(websocket: WebSocket, config: LocalRealtimeConfig, tokens: TokenStore,
                             logs: SessionLogs, sessions: OpenSessions) -> None:
    offered = list(websocket.scope.get('subprotocols') or [])
    # Some servers (uvicorn's wsproto) keep the header out of the scope: measure the parsed list as well.
    offered_size = max(len(websocket.headers.get('sec-websocket-protocol', '')), len(', '.join(offered)))
    if offered_size > config.limits.max_subprotocol_header_bytes:
        return await websocket.close(CLOSE_POLICY)  # never accepted: the client gets an HTTP 403 at once
    authorization = websocket.headers.get('authorization')
    model = websocket.query_params.get('model')
    session_log = logs.start(offered, authorization, model)
    token = next((p.removeprefix(TOKEN_SUBPROTOCOL_PREFIX) for p in offered if p.startswith(TOKEN_SUBPROTOCOL_PREFIX)),
                 None) or bearer(authorization)
    # Never echo the token subprotocol; a browser that offered subprotocols needs one chosen, so it is `realtime`.
    session_log.accepted_subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
    await websocket.accept(subprotocol=session_log.accepted_subprotocol)
    if BETA_SUBPROTOCOL in offered:
        return await reject(websocket, session_log, ErrorCode.API_VERSION_MISMATCH, CLOSE_API_VERSION,
                            f'The {BETA_SUBPROTOCOL} subprotocol is the beta API; this is the GA interface.')
    if model is not None and (len(model) > MAX_MODEL_CHARS or not model.isprintable()):
        return await reject(websocket, session_log, ErrorCode.INVALID_VALUE, CLOSE_POLICY,
                            f'Invalid model {model[:40]!r}: at most {MAX_MODEL_CHARS} printable characters.')
    grant = tokens.grant_for(token, model)
    if grant is None:
        return await reject(websocket, session_log, ErrorCode.INVALID_API_KEY, CLOSE_INVALID_TOKEN,
                            'Incorrect or expired API key or client secret provided.')
    if (refusal := sessions.refusal(grant)) is not None:
        return await reject(websocket, session_log, ErrorCode.RATE_LIMIT_EXCEEDED, CLOSE_TRY_AGAIN, refusal)
    with sessions.holding(grant), agent_seat(config.agent) as seat_refusal:
        if seat_refusal is not None:  # offline speech at capacity: refuse rather than slow everyone down
            return await reject(websocket, session_log, ErrorCode.RATE_LIMIT_EXCEEDED, CLOSE_TRY_AGAIN, seat_refusal)
        # The GA session object says when the service will end it (Unix seconds): clients renew before then.
        session = {**grant.session, 'id': grant.take_session_id(),
                   'expires_at': math.floor(time.time() + config.engine.session_limit_s)}
        session_log.session_id = session['id']
        engine = RealtimeEngine(session, time.monotonic(), config.engine, config.faults, config.limits)
        await Connection(websocket, engine, config.agent, session_log, config.limits).run()


async def reject(websocket: WebSocket, session_log: SessionLog, code: ErrorCode, close_code: int,
                 message: str) -> None:
    await websocket.send_text(json.dumps(error_event({'type': 'invalid_request_error', 'code': code.value,
                                                      'message': message}, None)))
    session_log.server('error')
    await websocket.close(close_code)
    session_log.outcome, session_log.close_code = f'rejected: {code.value}', close_code


# Built once: `json.dumps` with any non-default option builds a new encoder per call.
WIRE_JSON = json.JSONEncoder(allow_nan=False, separators=(',', ':'))


def encode(server_event: dict) -> str:
    """JSON for the wire; strict (no NaN), compact, and a failure becomes a `server_error` event instead."""
    try:
        return WIRE_JSON.encode(server_event)
    except (TypeError, ValueError, RecursionError):
        return WIRE_JSON.encode(failed(f"encoding a {server_event.get('type')} event"))


class Connection:
    def __init__(self, websocket: WebSocket, engine: RealtimeEngine, agent: Agent, session_log: SessionLog,
                 limits: ServerLimits) -> None:
        self.websocket, self.engine, self.agent, self.log, self.limits = websocket, engine, agent, session_log, limits
        self.wake = asyncio.Event()
        self.drained = asyncio.Event()
        self.work: set[asyncio.Task] = set()
        self.sleeping_until = math.inf  # when the pump's timer fires (inf: no timer, or the pump is busy)
        self.sending_since: float | None = None  # while the pump waits on a send: since when
        self.watchdog: asyncio.TimerHandle | None = None  # `watch_sends`, while the connection runs
        engine.hearing = hearing_for(agent, engine, self.start_work)

    async def run(self) -> None:
        self.start_work(CheckAgent())  # models that fail to load are reported to the client, not just logged
        reader = asyncio.create_task(self.read())
        pump = asyncio.create_task(self.pump())
        self.watchdog = asyncio.get_running_loop().call_later(self.limits.send_stall_timeout_s / 4, self.watch_sends,
                                                              pump)
        try:
            done, _ = await asyncio.wait({reader, pump}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = None if task.cancelled() else task.exception()
                if isinstance(error, (WebSocketDisconnect, OSError)):  # the client went away mid-send
                    log.debug('client disconnected: %r', error)
                elif error is not None:
                    log.error('local realtime session failed', exc_info=error)
        finally:
            self.watchdog.cancel()
            self.engine.close()  # frees the session's audio and queue now, not at the next GC pass
            self.wake.set()      # a pump whose cancellation a send swallowed still sees the end
            self.drained.set()
            tasks = {reader, pump, *self.work}
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # let them finish: a pending task holds the session
                await asyncio.wait(tasks, timeout=5)
            if self.log.outcome == 'open':
                self.log.outcome = 'closed'

    async def read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message['type'] == 'websocket.disconnect':
                self.log.close_code = self.log.close_code or message.get('code')
                return
            data = message.get('text')
            if data is None:
                data = message.get('bytes') or b''
            self.log.client(self.engine.receive(data, time.monotonic()), len(data))
            # Wake the pump only when this event queued something due before its timer: most appends queue
            # nothing, and 25 needless wake-ups a second per talking client were the largest cost of all.
            due = self.engine.next_due()
            if (due is not None and due < self.sleeping_until) or self.engine.closed:
                self.wake.set()
            while self.backlogged() and not self.engine.closed:
                self.drained.clear()
                await self.drained.wait()  # the client is not reading: neither do we

    def backlogged(self) -> bool:
        outbox = self.engine.outbox
        return len(outbox) > self.limits.max_queued_events or outbox.queued_bytes > self.limits.max_queued_bytes

    async def pump(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.engine.closed:
            self.wake.clear()  # before polling: a wake-up during the sends below is not lost
            self.sleeping_until = math.inf  # while sending, anything newly queued wakes it again
            for action in self.engine.poll(time.monotonic()):
                if isinstance(action, Send):
                    self.sending_since = time.monotonic()
                    await self.websocket.send_text(encode(action.event))
                    self.sending_since = None
                    self.log.server(action.event['type'])
                elif isinstance(action, Close):
                    return await self.close(action)
                else:
                    self.start_work(action)
            self.drained.set()
            due = self.engine.next_due()
            # A timer that sets the event, not `wait_for` (a task and a timer per wake-up, 20 per second per
            # streaming session)
            timer = None if due is None else loop.call_later(max(0.0, due - time.monotonic()), self.wake.set)
            self.sleeping_until = math.inf if due is None else due
            try:
                await self.wake.wait()
            finally:
                if timer is not None:
                    timer.cancel()

    def watch_sends(self, pump: asyncio.Task) -> None:
        """Every quarter of `send_stall_timeout_s`: a send waiting longer than that means the peer reads nothing
        (under any WebSocket implementation), so the connection is dropped rather than held forever."""
        since, stall = self.sending_since, self.limits.send_stall_timeout_s
        if since is not None and time.monotonic() - since > stall:
            log.info('dropping a client that read nothing for %gs', stall)
            self.log.outcome, self.log.close_code = 'dropped: not reading', None
            if not abort_transport(self.websocket):
                pump.cancel()
            return
        self.watchdog = asyncio.get_running_loop().call_later(stall / 4, self.watch_sends, pump)

    def start_work(self, action) -> None:
        task = asyncio.create_task(self.perform(action))
        self.work.add(task)
        task.add_done_callback(self.work.discard)

    async def perform(self, work: Transcribe | Respond) -> None:
        """Run agent work off the pump; the engine hears back with the result or the error message."""
        if isinstance(work, (ScoreVoice, ScoreTurn)):
            return await self.score_voice(work)
        try:
            if await perform_streamed(self.agent, self.engine, work, self.wake):  # live captions, spoken sentences
                return
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

    async def score_voice(self, job: ScoreVoice | ScoreTurn) -> None:
        """A large append's voice detection or a pause's end-of-turn judgement, off the event loop (the engine
        decides with the result)."""
        try:
            result = await asyncio.to_thread(job.run)
        except Exception:  # a broken model: the client hears of it, the session lives on without this audio
            voice_failed(self.engine, job, time.monotonic())
        else:
            voice_scored(self.engine, job, result, time.monotonic())
        self.wake.set()

    async def close(self, action: Close) -> None:
        if action.abort and abort_transport(self.websocket):
            self.log.outcome, self.log.close_code = 'dropped', None
            return
        self.log.outcome, self.log.close_code = 'closed', action.code
        await self.websocket.close(1011 if action.abort else action.code, action.reason)
