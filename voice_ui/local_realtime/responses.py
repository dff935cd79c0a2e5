"""One model response: from `response.created` through paced, interleaved deltas to `response.done`.

A reply becomes output items in order: a message (when the agent said something) then one `function_call`
item per tool call, each opened, streamed and closed before the next. A run queues its events in the engine's
outbox with due times (the pacing) and builds them at release time, so a cancelled run reports exactly the
audio, transcript and arguments that were actually sent. An out-of-band run (`conversation: "none"`) streams
the same events but its items never join the conversation.
"""
from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..protocol import BYTES_PER_MS, ErrorCode, ResponseStatus, ServerEvent
from .actions import Action, Close, Outbox, Send
from .events import AGENT_AUDIO_MS_PER_TOKEN, RATE_LIMITS, event, response_body, response_usage, text_tokens, words
from .faults import Faults
from .function_calls import argument_pieces
from .g711 import Codec
from .output_items import arguments_delta, closing_events, ids, opening_events
from .server_agent import NO_TOOLS, Reply, ToolOffer
from .server_config import EngineOptions, Pacing
from .server_conversation import Conversation, Item
from .tokens import new_id

RESPONSE_FIELDS = {'audio', 'conversation', 'input', 'instructions', 'max_output_tokens', 'metadata',
                   'output_modalities', 'prompt', 'tool_choice', 'tools', 'parallel_tool_calls', 'reasoning'}


@dataclass
class ResponseRun:
    id: str
    session: dict                      # the effective session of this response (overrides applied)
    conversation: Conversation
    conversation_id: str | None        # None: out-of-band
    outbox: Outbox
    options: EngineOptions
    faults: Faults
    on_finished: Callable[[ResponseRun], None]
    modalities: list[str]
    encode: Codec                      # 24 kHz PCM16 to the output format
    metadata: dict | None = None
    offer: ToolOffer = NO_TOOLS
    context: list[Item] | None = None  # `response.input`: this response's own context; None: the conversation
    requested: bool = False            # the agent was asked (after every needed transcript was ready)
    streaming: bool = False            # the reply arrived and its events are queued
    finished: bool = False
    items: list[Item] = field(default_factory=list)  # output items announced so far, in output order
    open_item: Item | None = None      # announced and not yet closed
    scheduled_items: int = 0
    audio_deltas_sent: int = 0
    input_items: list[Item] = field(default_factory=list)  # what the model read, for usage

    @property
    def audio_mode(self) -> bool:
        return self.modalities == ['audio']

    @property
    def in_conversation(self) -> bool:
        return self.conversation_id is not None

    def created_event(self) -> dict:
        return event(ServerEvent.RESPONSE_CREATED, response=self.body(ResponseStatus.IN_PROGRESS, []))

    def body(self, status: str, output: list[dict], usage: dict | None = None,
             status_details: dict | None = None) -> dict:
        return response_body(self.id, self.conversation_id, self.session, status, output, usage, status_details,
                             self.metadata, self.modalities)

    def reading(self) -> list[Item]:
        return list(self.conversation.items) if self.context is None else list(self.context)

    # ---- scheduling ----------------------------------------------------------------------------------------

    def stream(self, reply: Reply, now: float) -> None:
        """Queue the whole reply: each output item's opening, deltas and closing, then `response.done`."""
        self.streaming = True
        reply, cut = within_limit(reply, self.session.get('max_output_tokens'), self.audio_mode)
        self.input_items = self.reading()
        due = now + self.faults.reply_delay_ms / 1000
        if reply.text or reply.audio or not reply.tool_calls:
            item = Item(new_id('item'), 'assistant', audio_part=self.audio_mode, text='', status='in_progress',
                        word_ends_ms=reply.word_ends_ms if self.audio_mode else None)
            due = self.stream_message(item, reply, due)
        for call in reply.tool_calls:
            item = Item(new_id('item'), None, type='function_call', status='in_progress', name=call.name,
                        call_id=call.call_id)
            due = self.stream_call(item, call.arguments, due)
        if cut:
            details = {'type': 'incomplete', 'reason': 'max_output_tokens'}
            self.outbox.push(lambda: self.closing_actions(ResponseStatus.INCOMPLETE, details), due, self.id)
        else:
            self.outbox.push(lambda: self.closing_actions(ResponseStatus.COMPLETED), due, self.id)

    def stream_message(self, item: Item, reply: Reply, start: float) -> float:
        index = self.schedule_open(item, start)
        audio = reply.audio if self.audio_mode else b''
        chunk_bytes = self.options.chunk_ms * BYTES_PER_MS
        chunks = [audio[i:i + chunk_bytes] for i in range(0, len(audio), chunk_bytes)]
        wire = self.encode(audio) if audio else b''
        wire_chunk = len(wire) * chunk_bytes // len(audio) if audio else 0
        deltas = base64_pieces(wire, wire_chunk, len(chunks))
        pieces = words(reply.text)
        due = start
        for slot, chunk_time in enumerate(self.chunk_times(start, len(chunks), len(pieces))):
            due = max(due, chunk_time + self.faults.jitter_s())  # jitter never reorders deltas
            for piece in pieces[self.words_before(slot, len(chunks), len(pieces)):
                                self.words_before(slot + 1, len(chunks), len(pieces))]:
                self.outbox.push(self.transcript_delta(item, index, piece), due, self.id)
            if slot < len(chunks):
                self.outbox.push(self.audio_delta(item, index, chunks[slot], deltas[slot]), due, self.id)
        self.schedule_close(item, index, due)
        return due

    def stream_call(self, item: Item, arguments: str, start: float) -> float:
        index = self.schedule_open(item, start)
        due = start
        for piece in argument_pieces(arguments):
            if self.options.pacing == Pacing.REALTIME:
                due += self.options.word_ms / 4000 + self.faults.jitter_s()
            self.outbox.push(self.argument_delta(item, index, piece), due, self.id)
        self.schedule_close(item, index, due)
        return due

    def schedule_open(self, item: Item, due: float) -> int:
        index = self.scheduled_items  # its output index, fixed when scheduled
        self.scheduled_items += 1

        def opening() -> list[Action]:
            previous_id = self.conversation.add(item) if self.in_conversation else None
            self.items.append(item)
            self.open_item = item
            return [Send(e) for e in opening_events(self.id, item, index, previous_id, self.in_conversation)]
        self.outbox.push(opening, due, self.id)
        return index

    def schedule_close(self, item: Item, index: int, due: float) -> None:
        def closing() -> list[Action]:
            item.status = 'completed'
            return self.close_item(item, index)
        self.outbox.push(closing, due, self.id)

    def close_item(self, item: Item, index: int) -> list[Action]:
        self.open_item = None
        if isinstance(item.audio, bytearray):
            item.audio = bytes(item.audio)
        previous_id = self.conversation.previous_id(item) if self.in_conversation else None
        return [Send(e) for e in closing_events(self.id, item, index, previous_id, self.in_conversation)]

    def chunk_times(self, start: float, chunks: int, pieces: int) -> list[float]:
        """One slot per audio chunk (words ride along with the audio), or per word when there is no audio."""
        slots = chunks or pieces
        if self.options.pacing == Pacing.BURST:
            return [start] * slots
        if not chunks:
            return [start + index * self.options.word_ms / 1000 for index in range(slots)]
        step, lead = self.options.chunk_ms / 1000, self.options.lead_ms / 1000
        return [start + max(0.0, index * step - lead) for index in range(slots)]

    @staticmethod
    def words_before(slot: int, chunks: int, pieces: int) -> int:
        """How many words go out before the audio chunk in `slot`: spread evenly, all by the last slot."""
        if chunks == 0:
            return min(slot, pieces)
        return min(pieces, (slot * pieces + chunks - 1) // chunks)

    # ---- deltas (built at release time) ----------------------------------------------------------------------

    def transcript_delta(self, item: Item, index: int, piece: str):
        kind = ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DELTA if item.audio_part else ServerEvent.OUTPUT_TEXT_DELTA

        def make() -> list[Action]:
            item.text += piece
            return [Send(event(kind, **ids(self.id, item, index), delta=piece))]
        return make

    def audio_delta(self, item: Item, index: int, chunk: bytes, delta: str):
        def make() -> list[Action]:
            if not isinstance(item.audio, bytearray):  # grown in place while streaming: not re-copied per chunk
                item.audio = bytearray(item.audio)
            item.audio += chunk
            self.audio_deltas_sent += 1
            actions: list[Action] = [Send(event(ServerEvent.OUTPUT_AUDIO_DELTA, **ids(self.id, item, index),
                                                delta=delta))]
            if self.faults.drop_after_audio_deltas is not None \
                    and self.audio_deltas_sent >= self.faults.drop_after_audio_deltas:
                actions.append(Close(1006, 'injected connection drop', abort=True))
            return actions
        return make

    def argument_delta(self, item: Item, index: int, piece: str):
        def make() -> list[Action]:
            item.arguments += piece
            return [Send(arguments_delta(self.id, item, index, piece))]
        return make

    # ---- endings -------------------------------------------------------------------------------------------

    def cancel(self, reason: str) -> list[Action]:
        """Stop now: drop what is still queued and close with what was sent (`response.done` cancelled)."""
        self.outbox.drop(self.id)
        return self.closing_actions(ResponseStatus.CANCELLED, {'type': 'cancelled', 'reason': reason})

    def fail(self, message: str) -> list[Action]:
        error = {'type': 'server_error', 'code': ErrorCode.SERVER_ERROR.value, 'message': message}
        return self.closing_actions(ResponseStatus.FAILED, {'type': 'failed', 'error': error})

    def closing_actions(self, status: ResponseStatus, status_details: dict | None = None) -> list[Action]:
        self.finished = True
        self.on_finished(self)
        actions: list[Action] = []
        if self.open_item is not None:  # cut short: it ends incomplete, with what was sent
            self.open_item.status = 'incomplete'
            actions += self.close_item(self.open_item, self.items.index(self.open_item))
        output = [item.wire() for item in self.items]
        usage = response_usage(self.input_items, self.session.get('instructions') or '', self.items) \
            if self.items else None
        actions += [Send(event(ServerEvent.RESPONSE_DONE, response=self.body(status, output, usage, status_details))),
                    Send(event(ServerEvent.RATE_LIMITS_UPDATED, rate_limits=RATE_LIMITS))]
        return actions


def within_limit(reply: Reply, limit: object, audio_mode: bool) -> tuple[Reply, bool]:
    """`max_output_tokens`: a reply that would use more is cut to the share that fits (its tool calls dropped),
    and the response ends `incomplete`, as the service's does. Tokens are estimated as in the usage."""
    if not isinstance(limit, int):
        return reply, False
    text = text_tokens(reply.text) + sum(text_tokens(call.arguments) for call in reply.tool_calls)
    audio = math.ceil(len(reply.audio) / BYTES_PER_MS / AGENT_AUDIO_MS_PER_TOKEN) if audio_mode else 0
    if text + audio <= limit:
        return reply, False
    share = limit / (text + audio)
    pieces = words(reply.text)
    kept_audio = reply.audio[:int(len(reply.audio) * share) // 2 * 2]
    return Reply(''.join(pieces[:int(len(pieces) * share)]), kept_audio, (), reply.word_ends_ms), True


def base64_pieces(wire: bytes, piece: int, count: int) -> list[str]:
    """The base64 `delta` of each of `count` pieces of `wire` (`piece` bytes each, the last takes the rest).
    With pieces a multiple of 3 bytes, base64 of the whole is the pieces' base64 joined: encode once, slice."""
    if not count:
        return []
    if piece % 3 == 0:
        whole, step = base64.b64encode(wire).decode('ascii'), piece // 3 * 4
        return [whole[i * step:(i + 1) * step if i + 1 < count else None] for i in range(count)]
    return [base64.b64encode(wire[i * piece:(i + 1) * piece if i + 1 < count else None]).decode('ascii')
            for i in range(count)]
