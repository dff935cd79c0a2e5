"""One model response: from `response.created` through paced, interleaved deltas to `response.done`.

A run queues its events in the engine's outbox with due times (the pacing) and builds the closing events at
release time, so a cancelled run reports exactly the audio and transcript that were actually sent.
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field

from ..protocol import BYTES_PER_MS, ErrorCode, ResponseStatus, ServerEvent
from .actions import Action, Close, Outbox, Send
from .server_agent import Reply
from .server_config import EngineOptions, Pacing
from .server_conversation import Conversation, Item
from .events import RATE_LIMITS, event, response_body, response_usage, words
from .faults import Faults
from .tokens import new_id

RESPONSE_FIELDS = {'audio', 'conversation', 'input', 'instructions', 'max_output_tokens', 'metadata',
                   'output_modalities', 'prompt', 'tool_choice', 'tools'}


@dataclass
class ResponseRun:
    id: str
    session: dict                      # the effective session when the response was created
    conversation: Conversation
    conversation_id: str
    outbox: Outbox
    options: EngineOptions
    faults: Faults
    on_finished: Callable[[ResponseRun], None]
    modalities: list[str]
    metadata: dict | None = None
    item: Item | None = None
    requested: bool = False            # the agent was asked (after every needed transcript was ready)
    announced: bool = False            # `response.output_item.added` went out
    audio_deltas_sent: int = 0
    finished: bool = False
    context: list[Item] = field(default_factory=list)

    @property
    def audio_mode(self) -> bool:
        return self.modalities == ['audio']

    def created_event(self) -> dict:
        return event(ServerEvent.RESPONSE_CREATED, response=self.body(ResponseStatus.IN_PROGRESS, []))

    def body(self, status: str, output: list[dict], usage: dict | None = None,
             status_details: dict | None = None) -> dict:
        return response_body(self.id, self.conversation_id, self.session, status, output, usage, status_details,
                             self.metadata, self.modalities)

    def stream(self, reply: Reply, now: float) -> None:
        """Queue the whole reply: the assistant item, interleaved deltas, then the closing events."""
        self.context = list(self.conversation.items)
        item = self.item = Item(new_id('item'), 'assistant', audio_part=self.audio_mode, text='',
                                status='in_progress')
        previous_id = self.conversation.add(item)
        ids = {'response_id': self.id, 'item_id': item.id, 'output_index': 0, 'content_index': 0}
        start = now + self.faults.reply_delay_ms / 1000
        empty = {**item.wire(), 'content': []}
        part = {'type': 'audio', 'transcript': ''} if self.audio_mode else {'type': 'text', 'text': ''}
        self.push(start, [event(ServerEvent.OUTPUT_ITEM_ADDED, response_id=self.id, output_index=0, item=empty),
                          event(ServerEvent.ITEM_ADDED, previous_item_id=previous_id, item=empty),
                          event(ServerEvent.CONTENT_PART_ADDED, **ids, part=part)], announce=True)
        audio = reply.audio if self.audio_mode else b''
        chunk_bytes = self.options.chunk_ms * BYTES_PER_MS
        chunks = [audio[i:i + chunk_bytes] for i in range(0, len(audio), chunk_bytes)]
        pieces = words(reply.text)
        due = start
        for index, chunk_time in enumerate(self.chunk_times(start, len(chunks), len(pieces))):
            due = max(due, chunk_time + self.faults.jitter_s())  # jitter never reorders deltas
            for piece in pieces[self.words_before(index, len(chunks), len(pieces)):
                                self.words_before(index + 1, len(chunks), len(pieces))]:
                self.outbox.push(self.transcript_delta(piece, ids), due, self.id)
            if index < len(chunks):
                self.outbox.push(self.audio_delta(chunks[index], ids, previous_id), due, self.id)
        self.outbox.push(lambda: self.closing_events(ResponseStatus.COMPLETED), due, self.id)

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

    def push(self, due: float, events: list[dict], announce: bool = False) -> None:
        def make() -> list[Action]:
            self.announced = self.announced or announce
            return [Send(e) for e in events]
        self.outbox.push(make, due, self.id)

    def transcript_delta(self, piece: str, ids: dict):
        kind = ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DELTA if self.audio_mode else ServerEvent.OUTPUT_TEXT_DELTA

        def make() -> list[Action]:
            self.item.text += piece
            return [Send(event(kind, **ids, delta=piece))]
        return make

    def audio_delta(self, chunk: bytes, ids: dict, previous_id: str | None):
        def make() -> list[Action]:
            self.item.audio += chunk
            self.audio_deltas_sent += 1
            actions: list[Action] = [Send(event(ServerEvent.OUTPUT_AUDIO_DELTA, **ids,
                                                delta=base64.b64encode(chunk).decode('ascii')))]
            if self.faults.drop_after_audio_deltas is not None \
                    and self.audio_deltas_sent >= self.faults.drop_after_audio_deltas:
                actions.append(Close(1006, 'injected connection drop', abort=True))
            return actions
        return make

    def cancel(self, reason: str) -> list[Action]:
        """Stop now: drop what is still queued and close with what was sent (`response.done` cancelled)."""
        self.outbox.drop(self.id)
        if self.item is not None and not self.announced:
            self.conversation.items.remove(self.item)
            self.item = None
        return self.closing_events(ResponseStatus.CANCELLED, {'type': 'cancelled', 'reason': reason})

    def fail(self, message: str) -> list[Action]:
        error = {'type': 'server_error', 'code': ErrorCode.SERVER_ERROR.value, 'message': message}
        return self.closing_events(ResponseStatus.FAILED, {'type': 'failed', 'error': error})

    def closing_events(self, status: ResponseStatus, status_details: dict | None = None) -> list[Action]:
        self.finished = True
        self.on_finished(self)
        events, output, usage = [], [], None
        item = self.item
        if item is not None:
            item.status = 'completed' if status == ResponseStatus.COMPLETED else 'incomplete'
            ids = {'response_id': self.id, 'item_id': item.id, 'output_index': 0, 'content_index': 0}
            if self.audio_mode:
                events += [event(ServerEvent.OUTPUT_AUDIO_DONE, **ids),
                           event(ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE, **ids, transcript=item.text)]
                part = {'type': 'audio', 'transcript': item.text}
            else:
                events.append(event(ServerEvent.OUTPUT_TEXT_DONE, **ids, text=item.text))
                part = {'type': 'text', 'text': item.text}
            wire = item.wire()
            events += [event(ServerEvent.CONTENT_PART_DONE, **ids, part=part),
                       event(ServerEvent.OUTPUT_ITEM_DONE, response_id=self.id, output_index=0, item=wire),
                       event(ServerEvent.ITEM_DONE, previous_item_id=self.conversation.previous_id(item), item=wire)]
            output = [wire]
            usage = response_usage(self.context, self.session.get('instructions') or '', item)
        events += [event(ServerEvent.RESPONSE_DONE, response=self.body(status, output, usage, status_details)),
                   event(ServerEvent.RATE_LIMITS_UPDATED, rate_limits=RATE_LIMITS)]
        return [Send(e) for e in events]
