"""The conversation: ordered items (messages, function calls and their outputs) and their GA wire shape."""
from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import BYTES_PER_MS, ErrorCode
from .server_agent import Message, ToolCall
from .session_schema import RequestError

TEXT_PART_TYPES = {'user': 'input_text', 'system': 'input_text', 'assistant': 'output_text'}
ROOT = 'root'  # `previous_item_id` that places an item first
ITEM_OVERHEAD = 256  # what an item costs beyond its strings (the object, its fields)
# How the service refuses an item id it does not hold, by what was asked of the item: clients tell the cases apart
# by these codes. Placement (`previous_item_id`) and `item_reference`s keep `item_not_found` (no code seen).
UNKNOWN_ITEM = {'retrieve': (ErrorCode.ITEM_RETRIEVE_INVALID_ID, 'retrieving'),
                'delete': (ErrorCode.ITEM_DELETE_INVALID_ID, 'deleting'),
                'truncate': (ErrorCode.ITEM_TRUNCATE_INVALID_ID, 'truncating')}


@dataclass
class Item:
    id: str
    role: str | None         # user, assistant, system (messages); None for function calls and outputs
    audio_part: bool = False  # content is audio (with a transcript) rather than text
    text: str | None = None  # the transcript or text; None while unknown
    audio: bytes = b''       # user input audio, or assistant audio actually sent (24 kHz PCM16)
    status: str = 'completed'
    transcribing: bool = False
    type: str = 'message'    # message, function_call, function_call_output
    name: str = ''           # function_call: the function
    call_id: str = ''        # function_call / function_call_output
    arguments: str = ''      # function_call: JSON text (grows while streaming)
    output: str = ''         # function_call_output
    word_ends_ms: tuple[int, ...] | None = None  # assistant audio: when each transcript word ends
    images: tuple[dict, ...] = ()  # user message: its input_image parts, as sent (the agent hears no images)

    def wire(self, encode_audio: Callable[[bytes], bytes] | None = None) -> dict:
        """The GA item. With `encode_audio` (retrieve), audio content carries its base64 audio."""
        base = {'id': self.id, 'object': 'realtime.item', 'type': self.type, 'status': self.status}
        if self.type == 'function_call':
            return {**base, 'call_id': self.call_id, 'name': self.name, 'arguments': self.arguments}
        if self.type == 'function_call_output':
            return {**base, 'call_id': self.call_id, 'output': self.output}
        if self.audio_part:
            part = {'type': 'input_audio' if self.role == 'user' else 'output_audio', 'transcript': self.text}
            if encode_audio is not None and self.audio:
                part['audio'] = base64.b64encode(encode_audio(self.audio)).decode('ascii')
        else:
            part = {'type': TEXT_PART_TYPES[self.role], 'text': self.text or ''}
        parts = [part] if self.text is not None or self.audio_part else []
        if self.images:  # text (or audio) first, then the images; a message of images alone has no text part
            parts = [p for p in parts if self.text or p['type'] != 'input_text'] + [dict(i) for i in self.images]
        return {**base, 'role': self.role, 'content': parts}

    def size(self) -> int:
        """About the bytes this item holds besides its audio (which `audio_retention` budgets)."""
        return ITEM_OVERHEAD + len(self.text or '') + len(self.arguments) + len(self.output) + len(self.name) \
            + len(self.call_id) + len(self.id) + sum(len(part.get('image_url') or '') for part in self.images)

    def message(self) -> Message | None:
        """This item as a turn of the agent's text history."""
        if self.type == 'function_call':
            return Message('assistant', '', (ToolCall(self.name, self.arguments, self.call_id),))
        if self.type == 'function_call_output':
            return Message('tool', self.output, call_id=self.call_id)
        return Message(self.role, self.text or '')


class Conversation:
    """The items in order, within bounds: past `max_items` or `max_bytes` of text, the oldest finished items are
    forgotten (as `truncation: auto` drops old context), so adding items cannot grow a session's memory."""

    def __init__(self, max_items: int = 4096, max_bytes: int = 8 * 1024 * 1024) -> None:
        self.items: list[Item] = []
        self.max_items, self.max_bytes = max_items, max_bytes

    def add(self, item: Item, previous_item_id: str | None = None) -> str | None:
        """Insert after `previous_item_id` (`root`: first; None: at the end); returns the id now before it
        (the `previous_item_id` of the added events). An unknown id is an error and adds nothing."""
        if previous_item_id is None:
            index = len(self.items)
        elif previous_item_id == ROOT:
            index = 0
        else:
            index = self.index_of(previous_item_id, 'previous_item_id') + 1
        if any(existing.id == item.id for existing in self.items):
            raise RequestError(ErrorCode.INVALID_VALUE, f"Item with id '{item.id}' already exists.", 'item.id')
        self.items.insert(index, item)
        previous_id = self.items[index - 1].id if index else None
        self.forget_oldest(keep=item)
        return previous_id

    def forget_oldest(self, keep: Item) -> None:
        size, index = sum(item.size() for item in self.items), 0
        while (len(self.items) > self.max_items or size > self.max_bytes) and index < len(self.items):
            item = self.items[index]
            if item is keep or item.status == 'in_progress' or item.transcribing:
                index += 1  # the newest, one still streaming or one awaiting its transcript stays
                continue
            size -= item.size()
            del self.items[index]

    def index_of(self, item_id: object, param: str = 'item_id', asked: str | None = None) -> int:
        for index, item in enumerate(self.items):
            if item.id == item_id:
                return index
        if asked in UNKNOWN_ITEM:
            code, doing = UNKNOWN_ITEM[asked]
            raise RequestError(code, f"Error {doing} item: the item with id '{item_id}' does not exist.", param)
        raise RequestError(ErrorCode.ITEM_NOT_FOUND, f"Item with item_id '{item_id}' not found.", param)

    def get(self, item_id: object, asked: str | None = None) -> Item:
        return self.items[self.index_of(item_id, asked=asked)]

    def previous_id(self, item: Item) -> str | None:
        if item not in self.items:
            return None
        index = self.items.index(item)
        return self.items[index - 1].id if index else None

    def delete(self, item_id: object) -> None:
        self.items.remove(self.get(item_id, 'delete'))

    def history(self, items: list[Item] | None = None) -> list[Message]:
        return history_of(self.items if items is None else items)

    def waiting_for_transcripts(self) -> bool:
        return any(item.transcribing for item in self.items)


def history_of(items: list[Item]) -> list[Message]:
    """The agent's text history: consecutive function calls join one assistant turn, as chat APIs expect."""
    messages: list[Message] = []
    for item in items:
        message = item.message()
        if message is None or message.role not in ('user', 'assistant', 'system', 'tool'):
            continue
        previous = messages[-1] if messages else None
        if message.tool_calls and previous is not None and previous.role == 'assistant':
            messages[-1] = Message('assistant', previous.text, previous.tool_calls + message.tool_calls)
        else:
            messages.append(message)
    return messages


def truncate(item: Item, end_ms: object, content_index: object) -> None:
    """Cut an assistant audio item to the `end_ms` the listener heard. Its transcript keeps the words heard:
    by the agent's word timing when it gave one, else in proportion to the audio kept (an estimate)."""
    if not isinstance(end_ms, int) or isinstance(end_ms, bool) or end_ms < 0:
        raise RequestError(ErrorCode.INVALID_VALUE, 'audio_end_ms must be a non-negative integer.', 'audio_end_ms')
    if item.role != 'assistant' or not item.audio_part:
        raise RequestError(ErrorCode.INVALID_VALUE, 'Only assistant audio items can be truncated.', 'item_id')
    if content_index != 0:
        raise RequestError(ErrorCode.INVALID_VALUE, 'content_index must be 0.', 'content_index')
    sent_ms = len(item.audio) // BYTES_PER_MS
    if end_ms > sent_ms:
        raise RequestError(ErrorCode.INVALID_VALUE, f'Audio content of {sent_ms}ms is already shorter than '
                           f'{end_ms}ms.', 'audio_end_ms')
    pieces = words(item.text or '')
    if item.word_ends_ms is not None:
        heard = sum(1 for end in item.word_ends_ms[:len(pieces)] if end <= end_ms)
    else:
        heard = round(len(pieces) * end_ms / sent_ms) if sent_ms else 0
    item.audio, item.text = item.audio[:end_ms * BYTES_PER_MS], ''.join(pieces[:heard])


def words(text: str) -> list[str]:
    """Split into deltas that concatenate back to `text` exactly (each keeps its leading space)."""
    pieces, start = [], 0
    for index in range(1, len(text) + 1):
        if index == len(text) or (text[index] == ' ' and text[index - 1] != ' '):
            pieces.append(text[start:index])
            start = index
    return pieces


def normalized(word: str) -> str:
    return re.sub(r"[^\w']", '', word.lower())


def agreement(before: list[str], now: list[str]) -> int:
    """How many leading words two transcripts share (case and punctuation aside)."""
    count = 0
    for a, b in zip(before, now, strict=False):
        if normalized(a) != normalized(b):
            break
        count += 1
    return count


def held_punctuation(sent: str, now: str) -> str:
    """What `now` (a word as decoded now) adds after `sent` (the same word as sent, its punctuation held back)."""
    return now[len(sent):] if sent and now.startswith(sent) else ''
