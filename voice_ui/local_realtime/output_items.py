"""The events that open and close one output item of a response: a message (text or audio) or a function call.

An item inside the conversation also gets `conversation.item.added/done`; an out-of-band response's items
(`response.conversation: "none"`) do not, as they never join the conversation.
"""
from __future__ import annotations

from ..protocol import ServerEvent
from .events import event
from .server_conversation import Item


def ids(response_id: str, item: Item, output_index: int) -> dict:
    fields = {'response_id': response_id, 'item_id': item.id, 'output_index': output_index}
    return fields if item.type == 'function_call' else {**fields, 'content_index': 0}


def opening_events(response_id: str, item: Item, output_index: int, previous_id: str | None,
                   in_conversation: bool) -> list[dict]:
    empty = item.wire() if item.type == 'function_call' else {**item.wire(), 'content': []}
    events = [event(ServerEvent.OUTPUT_ITEM_ADDED, response_id=response_id, output_index=output_index, item=empty)]
    if in_conversation:
        events.append(event(ServerEvent.ITEM_ADDED, previous_item_id=previous_id, item=empty))
    if item.type == 'message':
        part = {'type': 'audio', 'transcript': ''} if item.audio_part else {'type': 'text', 'text': ''}
        events.append(event(ServerEvent.CONTENT_PART_ADDED, **ids(response_id, item, output_index), part=part))
    return events


def closing_events(response_id: str, item: Item, output_index: int, previous_id: str | None,
                   in_conversation: bool) -> list[dict]:
    """`item.status` must already say how it ended (completed or incomplete)."""
    where = ids(response_id, item, output_index)
    if item.type == 'function_call':
        events = [event(ServerEvent.FUNCTION_CALL_ARGUMENTS_DONE, **where, call_id=item.call_id, name=item.name,
                        arguments=item.arguments)]
    elif item.audio_part:
        events = [event(ServerEvent.OUTPUT_AUDIO_DONE, **where),
                  event(ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE, **where, transcript=item.text or '')]
    else:
        events = [event(ServerEvent.OUTPUT_TEXT_DONE, **where, text=item.text or '')]
    if item.type == 'message':
        part = {'type': 'audio', 'transcript': item.text or ''} if item.audio_part else \
            {'type': 'text', 'text': item.text or ''}
        events.append(event(ServerEvent.CONTENT_PART_DONE, **where, part=part))
    wire = item.wire()
    events.append(event(ServerEvent.OUTPUT_ITEM_DONE, response_id=response_id, output_index=output_index, item=wire))
    if in_conversation:
        events.append(event(ServerEvent.ITEM_DONE, previous_item_id=previous_id, item=wire))
    return events


def arguments_delta(response_id: str, item: Item, output_index: int, piece: str) -> dict:
    return event(ServerEvent.FUNCTION_CALL_ARGUMENTS_DELTA, **ids(response_id, item, output_index),
                 call_id=item.call_id, delta=piece)
