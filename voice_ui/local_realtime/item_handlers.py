"""The engine's `conversation.item.*` handlers: create (placed by `previous_item_id`), truncate, delete, retrieve.

A mixin of `RealtimeEngine`, kept apart so each file stays one concern: it uses the engine's conversation,
session and outbox.
"""
from __future__ import annotations

from ..protocol import ErrorCode, ServerEvent
from .actions import Transcribe
from .events import event
from .g711 import decoder, encoder
from .items import item_from_client
from .server_conversation import Conversation, Item, truncate
from .session_schema import RequestError


class ItemHandlers:
    conversation: Conversation
    session: dict  # and the engine's send(), queue() and input_format()

    def announce_item(self, item: Item, previous_id: str | None, now: float) -> None:
        self.send(event(ServerEvent.ITEM_ADDED, previous_item_id=previous_id, item=item.wire()), now)
        self.send(event(ServerEvent.ITEM_DONE, previous_item_id=previous_id, item=item.wire()), now)
        if item.transcribing:
            transcription = self.session['audio']['input']['transcription'] or {}
            self.queue([Transcribe(item.id, item.audio, transcription.get('language'),
                                   transcription.get('prompt'))], now)

    def on_item_create(self, client_event: dict, now: float) -> None:
        item = item_from_client(client_event.get('item'), decoder(self.input_format()))
        after = client_event.get('previous_item_id')
        if after is not None and not isinstance(after, str):
            raise RequestError(ErrorCode.INVALID_VALUE, "Invalid type for 'previous_item_id': expected a string.",
                               'previous_item_id')
        self.announce_item(item, self.conversation.add(item, after), now)

    def on_item_truncate(self, client_event: dict, now: float) -> None:
        item = self.conversation.get(client_event.get('item_id'), 'truncate')
        end_ms = client_event.get('audio_end_ms')
        truncate(item, end_ms, client_event.get('content_index', 0))
        self.send(event(ServerEvent.ITEM_TRUNCATED, item_id=item.id, content_index=0, audio_end_ms=end_ms), now)

    def on_item_delete(self, client_event: dict, now: float) -> None:
        self.conversation.delete(client_event.get('item_id'))
        self.send(event(ServerEvent.ITEM_DELETED, item_id=client_event['item_id']), now)

    def on_item_retrieve(self, client_event: dict, now: float) -> None:
        item = self.conversation.get(client_event.get('item_id'), 'retrieve')
        direction = 'input' if item.role == 'user' else 'output'
        wire = item.wire(encode_audio=encoder(self.session['audio'][direction]['format']))
        self.send(event(ServerEvent.ITEM_RETRIEVED, item=wire), now)
