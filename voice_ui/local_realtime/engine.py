"""The sans-I/O Realtime session: parsed client events in, timed server events and work requests out.

No sockets, no sleeping, no clock reads: every entry point takes `now` (seconds, monotonic). The transport
calls `receive` for each client message, runs the `Transcribe`/`Respond` work it is handed and reports back
with `transcription_ready` / `reply_ready`, and calls `poll(now)` whenever `next_due()` has come.
"""
from __future__ import annotations

import functools
import math

from ..protocol import BYTES_PER_MS, MIN_COMMIT_MS, ClientEvent, ErrorCode, ServerEvent
from .actions import Action, Close, Outbox, Respond, Send
from .server_agent import Reply
from .server_config import EngineOptions
from .server_conversation import Conversation, Item, history_of
from .events import error_event, event, transcription_usage, words
from .faults import Faults
from .function_calls import check_session_tools, vetted_calls
from .g711 import decoder, encoder
from .idle_timeout import IdleTimeouts, IdleTimer
from .item_handlers import ItemHandlers
from .response_options import plan_response
from .responses import RESPONSE_FIELDS, ResponseRun
from .session_schema import RequestError, merge_session, validate_session, voice_change
from .input_audio import InputAudio
from .audio_retention import drop_old_audio
from .client_validation import parse_client_event
from .limits import ServerLimits
from .session_guard import Snapshot, failed, session_expired
from .streamed_work import Captions
from .turn_events import on_voice_events
from .tokens import new_id


class RealtimeEngine(ItemHandlers, IdleTimeouts):
    def __init__(self, session: dict, now: float, options: EngineOptions | None = None,
                 faults: Faults | None = None, limits: ServerLimits | None = None) -> None:
        self.session = session  # effective config, with `id` and `object`
        self.options = options or EngineOptions()
        self.limits = limits or ServerLimits()
        self.faults = faults or Faults()
        self.outbox = Outbox()
        self.conversation = Conversation(self.limits.max_conversation_items, self.limits.max_conversation_bytes)
        self.conversation_id = new_id('conv')
        self.audio = InputAudio(self.options.vad, self.options.turn_model)
        self.audio.configure(self.turn_detection)
        self.active: ResponseRun | None = None
        self.next_user_item_id = new_id('item')
        self.captions = Captions()  # transcription deltas sent while the user spoke (streamed_work)
        self.hearing = None  # set by a transport whose agent decodes while the user speaks
        self.closed = False
        self.now = now  # the latest time the transport told us: for timers armed while releasing actions
        self.idle = IdleTimer(self.outbox)
        self.outbox.push_event(event(ServerEvent.SESSION_CREATED, session=session), now)
        self.outbox.push(functools.partial(session_expired, self.options.session_limit_s),
                         now + self.options.session_limit_s, 'session-limit')

    @property
    def turn_detection(self) -> dict | None:
        return self.session['audio']['input']['turn_detection']

    # ---- transport-facing API ----------------------------------------------------------------------------

    def receive(self, message: str | bytes | dict, now: float) -> dict | None:
        """One client message (a frame's text or bytes, or a parsed event). Returns the validated event (for
        the transport's log), or None when it was refused with an `error` event. Never raises."""
        if self.closed:
            return None
        self.now = max(self.now, now)
        try:
            client_event = parse_client_event(message, self.limits)
        except RequestError as error:
            self.send(error_event(error.fields(), error.event_id), now)
            return None
        client_event_id = client_event.get('event_id')
        injected = self.faults.take_error(client_event['type'])
        if injected is not None:
            self.send(error_event(injected, client_event_id), now)
            return client_event
        snapshot = Snapshot(self)
        try:
            self.HANDLERS[client_event['type']](self, client_event, now)
        except RequestError as error:  # a refusal has no effect
            snapshot.restore(self)
            self.send(error_event(error.fields(), client_event_id), now)
        except Exception:  # a bug in a handler: the session lives on, as it was
            snapshot.restore(self)
            self.send(failed(client_event['type'], client_event_id), now)
        return client_event

    def transcription_ready(self, item_id: str, text: str | None, error: str | None, now: float) -> None:
        """Work result: `text`, or `error` when the agent raised."""
        self.guarded(self.on_transcription, 'a transcription result', item_id, text, error, now)

    def reply_ready(self, response_id: str, reply: Reply | None, error: str | None, now: float) -> None:
        self.guarded(self.on_reply, 'a reply', response_id, reply, error, now)

    def guarded(self, method, what: str, *args) -> None:
        snapshot = Snapshot(self)
        try:
            method(*args)
        except Exception:
            snapshot.restore(self)
            self.send(failed(what), args[-1])

    def on_transcription(self, item_id: str, text: str | None, error: str | None, now: float) -> None:
        item = next((item for item in self.conversation.items if item.id == item_id), None)
        if item is None or self.closed:
            return
        item.transcribing, item.text = False, text or ''
        if self.session['audio']['input']['transcription'] is not None:
            if error is not None:
                self.send(event(ServerEvent.INPUT_TRANSCRIPTION_FAILED, item_id=item_id, content_index=0,
                                error={'type': 'server_error', 'code': ErrorCode.SERVER_ERROR.value,
                                       'message': error, 'param': None}), now)
            else:
                for piece in words(self.captions.remainder(item_id, item.text)):
                    self.send(event(ServerEvent.INPUT_TRANSCRIPTION_DELTA, item_id=item_id, content_index=0,
                                    delta=piece), now)
                self.send(event(ServerEvent.INPUT_TRANSCRIPTION_COMPLETED, item_id=item_id, content_index=0,
                                transcript=item.text, usage=transcription_usage(item.audio, item.text)), now)
        self.start_waiting_response(now)

    def on_reply(self, response_id: str, reply: Reply | None, error: str | None, now: float) -> None:
        run = self.active
        if run is None or run.id != response_id or run.streaming or self.closed:
            return  # cancelled meanwhile
        if error is not None or reply is None:
            return self.queue(run.fail(error or 'the agent gave no reply'), now)
        calls, problem = vetted_calls(run.offer, reply.tool_calls)
        if problem is not None:
            return self.queue(run.fail(problem), now)
        run.stream(Reply(reply.text, reply.audio, calls, reply.word_ends_ms), now)

    def poll(self, now: float) -> list[Action]:
        """Everything due by `now`, in order. After a `Close` nothing more is released."""
        self.now = max(self.now, now)
        actions: list[Action] = []
        while not self.closed and (entry := self.outbox.pop_one(now)) is not None:
            try:
                made = entry.make()
            except Exception:  # a bug in what was queued: the client hears of it, the session lives on
                made = [Send(failed('a queued action'))]
            for action in made:
                actions.append(action)
                if isinstance(action, Close):
                    self.close()
                    break
        return actions

    def close(self) -> None:
        """The session is over: drop everything it holds at once. Queued closures reference the running
        response and it the outbox; emptying the queue breaks those cycles, so no GC pass is needed."""
        self.closed = True
        while self.outbox.pop_one(math.inf) is not None:
            pass
        self.active = None
        self.hearing = None  # it holds the transport: no cycle outlives the session
        self.conversation = Conversation()
        self.audio = InputAudio()

    def next_due(self) -> float | None:
        return None if self.closed else self.outbox.next_due()

    # ---- helpers ------------------------------------------------------------------------------------------

    def send(self, server_event: dict, now: float) -> None:
        self.outbox.push_event(server_event, now)

    def queue(self, actions: list[Action], now: float) -> None:
        self.outbox.push(lambda: actions, now)

    # ---- handlers -----------------------------------------------------------------------------------------

    def on_session_update(self, client_event: dict, now: float) -> None:
        patch = validate_session(client_event.get('session'))
        if voice_change(self.session, patch) and self.audio_produced():
            raise RequestError(ErrorCode.CANNOT_UPDATE_VOICE, "Cannot update a conversation's voice if assistant "
                               'audio is present.', 'session.audio.output.voice')
        merged = merge_session(self.session, {k: v for k, v in patch.items() if k != 'model'})
        check_session_tools(patch, merged)
        before = self.turn_detection
        self.session = merged
        if self.turn_detection != before:
            self.audio.configure(self.turn_detection)
            self.rearm_idle(now)
        self.send(event(ServerEvent.SESSION_UPDATED, session=self.session), now)

    def audio_produced(self) -> bool:
        return any(item.role == 'assistant' and item.audio for item in self.conversation.items)

    def input_format(self) -> dict:
        return self.session['audio']['input']['format']

    def on_append(self, client_event: dict, now: float) -> None:
        pcm = decoder(self.input_format())(client_event['audio'])  # base64 was decoded once, by client_validation
        self.audio.make_room(len(pcm), self.limits.max_input_buffer_bytes)
        if self.hearing is not None:
            self.hearing(self.next_user_item_id, pcm)
        on_voice_events(self, self.audio.append(pcm), now)

    def on_commit(self, client_event: dict, now: float) -> None:
        buffered_ms = len(self.audio.buffer) / BYTES_PER_MS
        if buffered_ms < MIN_COMMIT_MS:
            raise RequestError(ErrorCode.COMMIT_EMPTY, 'Error committing input audio buffer: buffer too small. '
                               f'Expected at least {MIN_COMMIT_MS}ms of audio, but buffer only has '
                               f'{buffered_ms:.2f}ms of audio.')
        self.commit(self.audio.take_all(), now)

    def commit(self, audio: bytes, now: float) -> None:
        item = Item(self.next_user_item_id, 'user', audio_part=True, audio=audio, transcribing=True)
        self.next_user_item_id = new_id('item')
        previous_id = self.conversation.add(item)
        drop_old_audio(self.conversation.items, self.limits.max_kept_audio_bytes)
        self.send(event(ServerEvent.INPUT_AUDIO_COMMITTED, previous_item_id=previous_id, item_id=item.id), now)
        self.announce_item(item, previous_id, now)

    def on_clear(self, client_event: dict, now: float) -> None:
        self.audio.clear()
        self.next_user_item_id = new_id('item')  # what was heard of the cleared audio belongs to no item
        self.send(event(ServerEvent.INPUT_AUDIO_CLEARED), now)

    def on_response_create(self, client_event: dict, now: float) -> None:
        overrides = client_event.get('response') or {}
        if not isinstance(overrides, dict):
            raise RequestError(ErrorCode.INVALID_VALUE, "Invalid type for 'response'.", 'response')
        for key in overrides:
            if key not in RESPONSE_FIELDS:
                raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: 'response.{key}'.",
                                   f'response.{key}')
        if self.active is not None:
            raise RequestError(ErrorCode.ACTIVE_RESPONSE, 'Conversation already has an active response in '
                               f'progress: {self.active.id}. Wait until the response is finished before creating '
                               'a new one.')
        self.create_response(overrides, now)

    def create_response(self, overrides: dict, now: float) -> None:
        plan = plan_response(overrides, self.session, self.conversation, self.conversation_id,
                             decoder(self.input_format()))
        self.idle.disarm()
        self.active = ResponseRun(new_id('resp'), plan.session, self.conversation,
                                  self.conversation_id if plan.in_conversation else None, self.outbox,
                                  self.options, self.faults, self.finished, plan.modalities,
                                  encoder(plan.session['audio']['output']['format']), plan.metadata, plan.offer,
                                  plan.context)
        self.send(self.active.created_event(), now)
        self.start_waiting_response(now)

    def start_waiting_response(self, now: float) -> None:
        """Ask the agent once every user turn it needs has a transcript (its history is text)."""
        run = self.active
        if run is None or run.streaming or run.requested or self.conversation.waiting_for_transcripts():
            return
        run.requested = True
        context = run.reading()
        users = [item for item in context if item.role == 'user']
        audio = users[-1].audio if users and users[-1].audio_part else b''
        self.queue([Respond(run.id, history_of(context), audio, run.session.get('instructions'), run.offer)], now)

    def finished(self, run: ResponseRun) -> None:
        if self.active is run:
            self.active = None
            self.rearm_idle(self.now, self.options.lead_ms / 1000 if run.audio_deltas_sent else 0.0)
        drop_old_audio(self.conversation.items, self.limits.max_kept_audio_bytes)

    def on_response_cancel(self, client_event: dict, now: float) -> None:
        if self.active is None:
            raise RequestError(ErrorCode.CANCEL_NOT_ACTIVE, 'Cancellation failed: no active response found.')
        wanted = client_event.get('response_id')
        if wanted is not None and wanted != self.active.id:  # another response's id must not cancel this one
            raise RequestError(ErrorCode.CANCEL_NOT_ACTIVE, f"Cancellation failed: no active response with id "
                               f"'{wanted[:64]}'.", 'response_id')
        self.queue(self.active.cancel('client_cancelled'), now)

    HANDLERS = {
        ClientEvent.SESSION_UPDATE: on_session_update,
        ClientEvent.INPUT_AUDIO_APPEND: on_append,
        ClientEvent.INPUT_AUDIO_COMMIT: on_commit,
        ClientEvent.INPUT_AUDIO_CLEAR: on_clear,
        ClientEvent.ITEM_CREATE: ItemHandlers.on_item_create,
        ClientEvent.ITEM_TRUNCATE: ItemHandlers.on_item_truncate,
        ClientEvent.ITEM_DELETE: ItemHandlers.on_item_delete,
        ClientEvent.ITEM_RETRIEVE: ItemHandlers.on_item_retrieve,
        ClientEvent.RESPONSE_CREATE: on_response_create,
        ClientEvent.RESPONSE_CANCEL: on_response_cancel,
    }

