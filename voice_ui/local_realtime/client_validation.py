"""Client events checked before they touch a session: a raw frame in, a validated event dict out.

Everything wrong raises `RequestError` (with the event's `event_id` once known), which the engine answers with a
GA `error` event while the session lives on. Checked here: the frame (size, UTF-8, JSON, depth), the envelope
(an object with a known string `type`, a string `event_id`, no unknown fields) and each field's type. The shape
of `conversation.item.create`'s item is left to its handler. Appends are decoded here, once: the validated
event's `audio` is the PCM bytes.
"""
from __future__ import annotations

import base64
import binascii

from ..protocol import ClientEvent, ErrorCode
from .limits import ServerLimits
from .safe_json import check_depth, loads
from .session_options import check_prompt, check_reasoning
from .session_schema import RequestError
from .value_rules import expect_int, expect_list, expect_object, expect_str

FIELDS = {  # every field of each GA client event (openai-python's RealtimeClientEvent members)
    ClientEvent.SESSION_UPDATE: {'session'},
    ClientEvent.INPUT_AUDIO_APPEND: {'audio'},
    ClientEvent.INPUT_AUDIO_COMMIT: set(),
    ClientEvent.INPUT_AUDIO_CLEAR: set(),
    ClientEvent.ITEM_CREATE: {'item', 'previous_item_id'},
    ClientEvent.ITEM_TRUNCATE: {'item_id', 'content_index', 'audio_end_ms'},
    ClientEvent.ITEM_DELETE: {'item_id'},
    ClientEvent.ITEM_RETRIEVE: {'item_id'},
    ClientEvent.RESPONSE_CREATE: {'response'},
    ClientEvent.RESPONSE_CANCEL: {'response_id'},
}
ENVELOPE = {'type', 'event_id'}
MAX_ID_LENGTH = 512


def parse_client_event(message: str | bytes | dict, limits: ServerLimits) -> dict:
    """The validated event; `RequestError` for anything wrong."""
    if isinstance(message, dict):
        check_depth(message, limits.max_json_depth)
        client_event = message
    else:
        if len(message) > limits.max_frame_bytes:
            raise RequestError(ErrorCode.INVALID_VALUE, f'Client event of {len(message)} bytes (as sent) exceeds '
                               f'the limit of {limits.max_frame_bytes} bytes.')
        client_event = loads(message, limits.max_json_depth)
    if not isinstance(client_event, dict):
        raise RequestError(ErrorCode.INVALID_JSON, 'Client events must be JSON objects.')
    event_id = client_event.get('event_id')
    try:
        if 'event_id' in client_event:
            expect_str(event_id, 'event_id', nullable=True, max_length=MAX_ID_LENGTH)
        return check_fields(client_event, limits)
    except RequestError as error:
        error.event_id = event_id if isinstance(event_id, str) and len(event_id) <= MAX_ID_LENGTH else None
        raise


def check_fields(client_event: dict, limits: ServerLimits) -> dict:
    if 'type' not in client_event:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, "Missing required parameter: 'type'.", 'type')
    event_type = expect_str(client_event['type'], 'type')
    if event_type not in FIELDS:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{event_type[:100]}'. Supported values are: "
                           f"{', '.join(map(repr, FIELDS))}.", 'type')
    unknown = client_event.keys() - FIELDS[event_type] - ENVELOPE
    if unknown:
        key = sorted(unknown)[0][:100]
        raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{key}'.", key)
    CHECKS.get(event_type, lambda event, limits: event)(client_event, limits)
    if event_type == ClientEvent.INPUT_AUDIO_APPEND:
        return {**client_event, 'audio': decode_audio(client_event['audio'], limits)}
    return client_event


def required(client_event: dict, name: str) -> object:
    if client_event.get(name) is None:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, f"Missing required parameter: '{name}'.", name)
    return client_event[name]


def decode_audio(encoded: str, limits: ServerLimits) -> bytes:
    most = limits.max_append_bytes
    if len(encoded) > (most + 2) // 3 * 4:  # refused before decoding
        raise RequestError(ErrorCode.STRING_TOO_LONG, f"Invalid 'audio': at most {most} bytes of audio per append "
                           f'(this one carries about {len(encoded) * 3 // 4}).', 'audio')
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(ErrorCode.INVALID_VALUE, "Invalid 'audio': not valid base64.", 'audio') from None


def check_session_update(client_event: dict, limits: ServerLimits) -> None:
    expect_object(required(client_event, 'session'), 'session')  # its content: session_schema.validate_session


def check_append(client_event: dict, limits: ServerLimits) -> None:
    expect_str(required(client_event, 'audio'), 'audio')


def check_item_create(client_event: dict, limits: ServerLimits) -> None:
    expect_object(required(client_event, 'item'), 'item')  # its shape: the handler's business
    expect_str(client_event.get('previous_item_id'), 'previous_item_id', nullable=True, max_length=MAX_ID_LENGTH)


def check_item_id(client_event: dict, limits: ServerLimits) -> None:
    expect_str(required(client_event, 'item_id'), 'item_id', max_length=MAX_ID_LENGTH)


def check_truncate(client_event: dict, limits: ServerLimits) -> None:
    check_item_id(client_event, limits)
    expect_int(required(client_event, 'content_index'), 'content_index', 0, 1_000)
    expect_int(required(client_event, 'audio_end_ms'), 'audio_end_ms', 0, 10 ** 10)


def check_response_create(client_event: dict, limits: ServerLimits) -> None:
    response = expect_object(client_event.get('response'), 'response', nullable=True)
    if not response:
        return
    if 'instructions' in response:
        expect_str(response['instructions'], 'response.instructions', nullable=True)
    if response.get('max_output_tokens') not in (None, 'inf'):
        expect_int(response['max_output_tokens'], 'response.max_output_tokens', 1, 4096)
    for name in ('metadata', 'audio'):
        if name in response:
            expect_object(response[name], f'response.{name}', nullable=True)
    check_prompt(response.get('prompt'), 'response.prompt')
    check_reasoning(response.get('reasoning'), 'response.reasoning')
    for name in ('output_modalities', 'tools', 'input'):
        if name in response:
            expect_list(response[name], f'response.{name}', nullable=True)
    if 'conversation' in response and not isinstance(response['conversation'], (str, type(None))):
        expect_str(response['conversation'], 'response.conversation')


def check_cancel(client_event: dict, limits: ServerLimits) -> None:
    expect_str(client_event.get('response_id'), 'response_id', nullable=True, max_length=MAX_ID_LENGTH)


CHECKS = {
    ClientEvent.SESSION_UPDATE: check_session_update,
    ClientEvent.INPUT_AUDIO_APPEND: check_append,
    ClientEvent.ITEM_CREATE: check_item_create,
    ClientEvent.ITEM_TRUNCATE: check_truncate,
    ClientEvent.ITEM_DELETE: check_item_id,
    ClientEvent.ITEM_RETRIEVE: check_item_id,
    ClientEvent.RESPONSE_CREATE: check_response_create,
    ClientEvent.RESPONSE_CANCEL: check_cancel,
}
