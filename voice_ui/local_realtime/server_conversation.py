"""The conversation: ordered message items, their GA wire shape, and parsing of client-created items."""
from __future__ import annotations

from dataclasses import dataclass

from ..protocol import ErrorCode
from .server_agent import Message
from .session_schema import RequestError
from .tokens import new_id

ITEM_FIELDS = {'id', 'object', 'type', 'status', 'role', 'content'}
TEXT_PART_TYPES = {'user': 'input_text', 'system': 'input_text', 'assistant': 'output_text'}


@dataclass
class Item:
    id: str
    role: str                # user, assistant, system
    audio_part: bool         # content is audio (with a transcript) rather than text
    text: str | None = None  # the transcript or text; None while unknown
    audio: bytes = b''       # user input audio, or assistant audio actually sent
    status: str = 'completed'
    transcribing: bool = False

    def wire(self) -> dict:
        if self.audio_part:
            part = {'type': 'input_audio' if self.role == 'user' else 'output_audio', 'transcript': self.text}
        else:
            part = {'type': TEXT_PART_TYPES[self.role], 'text': self.text or ''}
        return {'id': self.id, 'object': 'realtime.item', 'type': 'message', 'status': self.status,
                'role': self.role, 'content': [part] if self.text is not None or self.audio_part else []}


class Conversation:
    def __init__(self) -> None:
        self.items: list[Item] = []

    def add(self, item: Item) -> str | None:
        """Append; returns the previous item's id (the `previous_item_id` of the added events)."""
        previous = self.items[-1].id if self.items else None
        self.items.append(item)
        return previous

    def get(self, item_id: object) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise RequestError(ErrorCode.ITEM_NOT_FOUND, f"Item with item_id '{item_id}' not found.", 'item_id')

    def previous_id(self, item: Item) -> str | None:
        if item not in self.items:
            return None
        index = self.items.index(item)
        return self.items[index - 1].id if index else None

    def delete(self, item_id: object) -> None:
        self.items.remove(self.get(item_id))

    def history(self) -> list[Message]:
        return [Message(item.role, item.text or '') for item in self.items if item.role in ('user', 'assistant')]

    def waiting_for_transcripts(self) -> bool:
        return any(item.transcribing for item in self.items)


def item_from_client(raw: object) -> Item:
    """A `conversation.item.create` item: a message whose content is text."""
    if not isinstance(raw, dict):
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, "Missing required parameter: 'item'.", 'item')
    for key in raw:
        if key not in ITEM_FIELDS:
            raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: 'item.{key}'.", f'item.{key}')
    if raw.get('type') != 'message':
        raise RequestError(ErrorCode.INVALID_VALUE, "The embedded server only accepts items of type 'message'.",
                           'item.type')
    role = raw.get('role')
    if role not in TEXT_PART_TYPES:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{role}'. Supported values are: "
                           "'user', 'assistant' and 'system'.", 'item.role')
    content = raw.get('content')
    if not isinstance(content, list) or not content:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, "Missing required parameter: 'item.content'.",
                           'item.content')
    texts = []
    for index, part in enumerate(content):
        if not isinstance(part, dict) or part.get('type') not in ('input_text', 'output_text', 'text'):
            raise RequestError(ErrorCode.INVALID_VALUE, 'Only text content is accepted by the embedded server.',
                               f'item.content[{index}].type')
        texts.append(str(part.get('text', '')))
    item_id = raw.get('id') or new_id('item')
    return Item(item_id, role, audio_part=False, text=''.join(texts))
