"""Client-created items (`conversation.item.create`, `response.input`) parsed into conversation items.

Checked in the order the service reports problems: the item's `type` first (an unknown type is an
`invalid_value` on `item.type`, never a complaint about some field of it), then the fields that type allows,
then required fields, then the content. The first problem found is raised as a `RequestError`.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from ..protocol import ErrorCode
from .server_conversation import Item
from .session_schema import RequestError
from .tokens import new_id

COMMON_FIELDS = {'id', 'object', 'type', 'status'}
FIELDS = {'message': COMMON_FIELDS | {'role', 'content'},
          'function_call': COMMON_FIELDS | {'call_id', 'name', 'arguments'},
          'function_call_output': COMMON_FIELDS | {'call_id', 'output'}}
GA_ONLY_TYPES = ('mcp_call', 'mcp_list_tools', 'mcp_approval_request', 'mcp_approval_response')
PART_TYPES = {'user': ('input_text', 'input_audio', 'input_image'), 'system': ('input_text',),
              'assistant': ('output_text', 'output_audio')}
PART_FIELDS = {'input_text': {'type', 'text'}, 'output_text': {'type', 'text'},
               'input_audio': {'type', 'audio', 'transcript'}, 'output_audio': {'type', 'transcript'},
               'input_image': {'type', 'image_url', 'detail'}}
IMAGE_DETAILS = ('auto', 'low', 'high')
STATUSES = ('completed', 'incomplete', 'in_progress')
MAX_ID_CHARS = 64

Decode = Callable[[bytes], bytes]  # audio in the session's input format -> 24 kHz PCM16


def item_from_client(raw: object, decode_audio: Decode, prefix: str = 'item') -> Item:
    if not isinstance(raw, dict):
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, f"Missing required parameter: '{prefix}'.", prefix)
    item_type = raw.get('type')
    if item_type is None:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, f"Missing required parameter: '{prefix}.type'.",
                           f'{prefix}.type')
    if not isinstance(item_type, str) or item_type not in FIELDS:
        note = ' (MCP items are not supported by the embedded server)' if item_type in GA_ONLY_TYPES else ''
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{str(item_type)[:64]}'{note}. Supported values "
                           "are: 'message', 'function_call' and 'function_call_output'.", f'{prefix}.type')
    for key in raw:
        if key not in FIELDS[item_type]:
            raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{prefix}.{key}'.", f'{prefix}.{key}')
    item_id = optional_string(raw, 'id', prefix) or new_id('item')
    if len(item_id) > MAX_ID_CHARS:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid '{prefix}.id': string too long. Expected a string with "
                           f'at most {MAX_ID_CHARS} characters.', f'{prefix}.id')
    if raw.get('object') is not None and raw.get('object') != 'realtime.item':
        raise RequestError(ErrorCode.INVALID_VALUE, "Invalid value: 'object'. Supported values are: 'realtime.item'.",
                           f'{prefix}.object')
    status = raw.get('status') or 'completed'
    if not isinstance(status, str) or status not in STATUSES:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value for '{prefix}.status'. Supported values are: "
                           "'completed', 'incomplete' and 'in_progress'.", f'{prefix}.status')
    if item_type == 'function_call':
        return Item(item_id, None, type='function_call', status=status,
                    name=required_string(raw, 'name', prefix), arguments=required_string(raw, 'arguments', prefix),
                    call_id=optional_string(raw, 'call_id', prefix) or new_id('call'))
    if item_type == 'function_call_output':
        return Item(item_id, None, type='function_call_output', status=status,
                    call_id=required_string(raw, 'call_id', prefix), output=required_string(raw, 'output', prefix))
    return message_from_client(raw, item_id, status, decode_audio, prefix)


def message_from_client(raw: dict, item_id: str, status: str, decode_audio: Decode, prefix: str) -> Item:
    role = raw.get('role')
    if role is None:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, f"Missing required parameter: '{prefix}.role'.",
                           f'{prefix}.role')
    if not isinstance(role, str) or role not in PART_TYPES:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{str(role)[:64]}'. Supported values are: "
                           "'user', 'assistant' and 'system'.", f'{prefix}.role')
    content = raw.get('content')
    if not isinstance(content, list):
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, f"Missing required parameter: '{prefix}.content'.",
                           f'{prefix}.content')
    texts: list[str] = []
    images: list[dict] = []
    audio, audio_part, transcript_missing = b'', False, False
    for index, part in enumerate(content):
        where = f'{prefix}.content[{index}]'
        if not isinstance(part, dict):
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{where}': expected an object.", where)
        part_type = part.get('type')
        if not isinstance(part_type, str) or part_type not in PART_TYPES[role]:
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{str(part_type)[:64]}'. Supported values "
                               f"for {role} messages here are: {', '.join(PART_TYPES[role])}.", f'{where}.type')
        for key in part:
            if key not in PART_FIELDS[part_type]:
                raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{where}.{key}'.",
                                   f'{where}.{key}')
        if part_type.endswith('_text'):
            texts.append(required_string(part, 'text', where))
            continue
        if part_type == 'input_image':  # kept and echoed as sent; the agents here hear no images
            images.append(image_part(part, where))
            continue
        audio_part = True
        transcript = optional_string(part, 'transcript', where)
        encoded = optional_string(part, 'audio', where)
        if encoded is not None:
            audio += decode_audio(decode_base64(encoded, f'{where}.audio'))
        if transcript is None:
            transcript_missing = transcript_missing or encoded is not None
        else:
            texts.append(transcript)
    if audio_part and len(content) > 1 and any(str(part.get('type')).endswith('_text') for part in content):
        raise RequestError(ErrorCode.INVALID_VALUE, 'A message mixes text and audio content; send them as separate '
                           'items.', f'{prefix}.content')
    text = None if transcript_missing else ''.join(texts)
    return Item(item_id, role, audio_part=audio_part, text=text, audio=audio, status=status,
                transcribing=transcript_missing, images=tuple(images))


def image_part(part: dict, where: str) -> dict:
    url = required_string(part, 'image_url', f'{where}')
    if not url.startswith('data:image/'):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid '{where}.image_url': expected a data URI of a PNG or "
                           "JPEG image ('data:image/png;base64,...').", f'{where}.image_url')
    detail = part.get('detail')
    if detail is not None and (not isinstance(detail, str) or detail not in IMAGE_DETAILS):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value for '{where}.detail'. Supported values are: "
                           "'auto', 'low' and 'high'.", f'{where}.detail')
    return {'type': 'input_image', 'image_url': url, **({'detail': detail} if detail is not None else {})}


def decode_base64(encoded: str, param: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid '{param}': expected base64-encoded audio.",
                           param) from exc


def required_string(raw: dict, key: str, prefix: str) -> str:
    if key not in raw or raw[key] is None:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, f"Missing required parameter: '{prefix}.{key}'.",
                           f'{prefix}.{key}')
    return checked_string(raw[key], f'{prefix}.{key}')


def optional_string(raw: dict, key: str, prefix: str) -> str | None:
    return None if raw.get(key) is None else checked_string(raw[key], f'{prefix}.{key}')


def checked_string(value: object, param: str) -> str:
    if not isinstance(value, str):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{param}': expected a string, but got "
                           f'{type(value).__name__} instead.', param)
    return value
