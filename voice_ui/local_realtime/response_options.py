"""`response.create`'s `response` object: what one response reads, says, may call and where its output goes.

GA treats `null` like an omitted field: `instructions: null` (which one SDK always sends) keeps the session's
instructions rather than wiping them, and so for every other override.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from ..protocol import VOICES, ErrorCode
from .function_calls import resolve, validate_tool_choice, validate_tools
from .g711 import FORMATS
from .items import Decode, item_from_client
from .server_agent import ToolOffer
from .server_conversation import Conversation, Item
from .session_schema import RequestError

MAX_METADATA_KEYS, MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUE_CHARS = 16, 64, 512
MAX_INPUT_ITEMS = 1024
MAX_OUTPUT_TOKENS = 4096


@dataclass
class ResponsePlan:
    session: dict              # the session with this response's overrides
    modalities: list[str]
    offer: ToolOffer
    in_conversation: bool      # False: out-of-band
    context: list[Item] | None  # `input`: this response's own context
    metadata: dict | None


def plan_response(overrides: dict, session: dict, conversation: Conversation, conversation_id: str,
                  decode: Decode) -> ResponsePlan:
    def given(key: str) -> bool:
        return overrides.get(key) is not None

    effective = copy.deepcopy(session)
    if given('instructions'):
        effective['instructions'] = string(overrides['instructions'], 'response.instructions')
    modalities = overrides['output_modalities'] if given('output_modalities') else session['output_modalities']
    if modalities not in (['audio'], ['text']):
        raise RequestError(ErrorCode.INVALID_VALUE, "output_modalities must be ['audio'] or ['text'].",
                           'response.output_modalities')
    effective['output_modalities'] = modalities
    if given('max_output_tokens'):
        effective['max_output_tokens'] = checked_limit(overrides['max_output_tokens'])
    if given('audio'):
        apply_audio(overrides['audio'], effective)
    tools = validate_tools(overrides['tools'], 'response.tools') if given('tools') else session.get('tools')
    choice = validate_tool_choice(overrides['tool_choice'], 'response.tool_choice') if given('tool_choice') \
        else session.get('tool_choice', 'auto')
    effective['tools'], effective['tool_choice'] = tools, choice
    offer = resolve(tools, choice, 'response.tool_choice')
    target = overrides.get('conversation') or 'auto'
    if target not in ('auto', 'none', conversation_id):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{str(target)[:64]}'. Supported values are: "
                           "'auto' and 'none'.", 'response.conversation')
    context = input_items(overrides['input'], conversation, decode) if 'input' in overrides and \
        overrides['input'] is not None else None
    metadata = checked_metadata(overrides['metadata']) if given('metadata') else None
    return ResponsePlan(effective, modalities, offer, target != 'none', context, metadata)


def apply_audio(audio: object, effective: dict) -> None:
    output = audio.get('output') if isinstance(audio, dict) else None
    if not isinstance(audio, dict) or set(audio) - {'output'} or (output is not None and not isinstance(output, dict)):
        raise RequestError(ErrorCode.INVALID_VALUE, "Invalid 'response.audio': expected {'output': {'format', "
                           "'voice'}}.", 'response.audio')
    output = output or {}
    for key in output:
        if key not in ('format', 'voice'):
            raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: 'response.audio.output.{key}'.",
                               f'response.audio.output.{key}')
    fmt, voice = output.get('format'), output.get('voice')
    if fmt is not None:
        if not isinstance(fmt, dict) or fmt.get('type') not in FORMATS:
            raise RequestError(ErrorCode.INVALID_VALUE, 'Supported audio formats are audio/pcm (24000 Hz), '
                               'audio/pcmu and audio/pcma.', 'response.audio.output.format')
        effective['audio']['output']['format'] = dict(fmt)
    if voice is not None:
        if voice not in VOICES:
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{str(voice)[:64]}'. Supported values "
                               f'are: {VOICES}.', 'response.audio.output.voice')
        effective['audio']['output']['voice'] = voice


def input_items(raw: object, conversation: Conversation, decode: Decode) -> list[Item]:
    """`response.input`: new items, or `item_reference`s to items of the conversation ([] = no context)."""
    if not isinstance(raw, list) or len(raw) > MAX_INPUT_ITEMS:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid 'response.input': expected an array of at most "
                           f'{MAX_INPUT_ITEMS} items.', 'response.input')
    items = []
    for index, entry in enumerate(raw):
        where = f'response.input[{index}]'
        if isinstance(entry, dict) and entry.get('type') == 'item_reference':
            if set(entry) - {'type', 'id'} or not isinstance(entry.get('id'), str):
                raise RequestError(ErrorCode.INVALID_VALUE, "An item_reference takes only 'type' and 'id'.", where)
            try:
                items.append(conversation.get(entry['id']))
            except RequestError as error:
                raise RequestError(error.code, error.message, f'{where}.id') from None
        else:
            items.append(item_from_client(entry, decode, where))
    return items


def checked_metadata(metadata: object) -> dict:
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid 'response.metadata': expected an object of at most "
                           f'{MAX_METADATA_KEYS} string pairs.', 'response.metadata')
    for key, value in metadata.items():
        if len(key) > MAX_METADATA_KEY_CHARS or not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_CHARS:
            raise RequestError(ErrorCode.INVALID_VALUE, f'Metadata keys are strings of at most '
                               f'{MAX_METADATA_KEY_CHARS} characters and values strings of at most '
                               f'{MAX_METADATA_VALUE_CHARS}.', f'response.metadata.{key[:64]}')
    return dict(metadata)


def checked_limit(limit: object) -> int | str:
    if limit == 'inf' or isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit <= MAX_OUTPUT_TOKENS:
        return limit
    raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid 'response.max_output_tokens': expected an integer from 1 "
                       f"to {MAX_OUTPUT_TOKENS} or 'inf'.", 'response.max_output_tokens')


def string(value: object, param: str) -> str:
    if not isinstance(value, str):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{param}': expected a string.", param)
    return value
