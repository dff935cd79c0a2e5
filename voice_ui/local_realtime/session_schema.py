"""The GA session configuration as the embedded server understands it: defaults, validation and merging.

Used by the mint (`session` of client_secrets) and by `session.update`. Validation answers the first problem
found as a `RequestError` carrying OpenAI's error fields; unknown fields are refused like the real service does.
"""
from __future__ import annotations

import copy

from ..protocol import PCM_FORMAT as PCM
from ..protocol import SAMPLE_RATE, VOICES, ErrorCode

DEFAULT_MODEL = 'gpt-realtime'
SERVER_VAD_DEFAULTS = {'type': 'server_vad', 'threshold': 0.5, 'prefix_padding_ms': 300, 'silence_duration_ms': 500,
                       'idle_timeout_ms': None, 'create_response': True, 'interrupt_response': True}
SEMANTIC_VAD_DEFAULTS = {'type': 'semantic_vad', 'eagerness': 'auto', 'create_response': True,
                         'interrupt_response': True}

ANY = None  # a leaf whose inner shape is not checked
SCHEMA = {  # allowed keys of a GA realtime session; nested dicts are checked recursively
    'type': ANY, 'model': ANY, 'instructions': ANY, 'output_modalities': ANY, 'max_output_tokens': ANY,
    'tools': ANY, 'tool_choice': ANY, 'tracing': ANY, 'truncation': ANY, 'prompt': ANY, 'include': ANY,
    'parallel_tool_calls': ANY, 'reasoning': ANY,
    'audio': {
        'input': {'format': {'type': ANY, 'rate': ANY},
                  'transcription': {'model': ANY, 'language': ANY, 'prompt': ANY},
                  'noise_reduction': {'type': ANY},
                  'turn_detection': {key: ANY for key in {**SERVER_VAD_DEFAULTS, **SEMANTIC_VAD_DEFAULTS}}},
        'output': {'format': {'type': ANY, 'rate': ANY}, 'voice': ANY, 'speed': ANY},
    },
}


class RequestError(Exception):
    """A client mistake, in OpenAI's terms: becomes an HTTP 400 body or a Realtime `error` event."""

    def __init__(self, code: str, message: str, param: str | None = None,
                 error_type: str = 'invalid_request_error') -> None:
        super().__init__(message)
        self.code, self.message, self.param, self.error_type = code, message, param, error_type
        self.event_id: str | None = None  # the refused client event's, once known: errors echo it

    def fields(self) -> dict:
        return {'type': self.error_type, 'code': self.code, 'message': self.message, 'param': self.param}


def default_session(model: str = DEFAULT_MODEL) -> dict:
    """What the service assumes when nothing is said: note turn detection is on (server VAD) by default."""
    return {
        'type': 'realtime', 'object': 'realtime.session', 'model': model, 'output_modalities': ['audio'],
        'instructions': '', 'tools': [], 'tool_choice': 'auto', 'max_output_tokens': 'inf', 'tracing': None,
        'truncation': 'auto', 'prompt': None, 'include': None,
        'audio': {
            'input': {'format': dict(PCM), 'transcription': None, 'noise_reduction': None,
                      'turn_detection': dict(SERVER_VAD_DEFAULTS)},
            'output': {'format': dict(PCM), 'voice': 'alloy', 'speed': 1.0},
        },
    }


def check_unknown(values: dict, schema: dict, prefix: str) -> None:
    for key, value in values.items():
        if key not in schema:
            raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{prefix}{key}'.", f'{prefix}{key}')
        if schema[key] is not ANY and value is not None:
            if not isinstance(value, dict):
                raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{prefix}{key}': expected an object.",
                                   f'{prefix}{key}')
            check_unknown(value, schema[key], f'{prefix}{key}.')


def validate_session(patch: object, prefix: str = 'session.') -> dict:
    """Check a (partial) session object; returns it unchanged."""
    if not isinstance(patch, dict):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{prefix[:-1]}': expected an object.",
                           prefix[:-1])
    if 'type' not in patch:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER,
                           f"Missing required parameter: '{prefix}type'.", f'{prefix}type')
    if patch['type'] != 'realtime':
        raise RequestError(ErrorCode.INVALID_VALUE, "The embedded server only supports session.type 'realtime'.",
                           f'{prefix}type')
    check_unknown(patch, SCHEMA, prefix)
    audio = patch.get('audio') or {}
    for direction in ('input', 'output'):
        fmt = (audio.get(direction) or {}).get('format')
        if fmt is not None and not (fmt.get('type') in ('audio/pcmu', 'audio/pcma') and set(fmt) == {'type'} or
                                    fmt.get('type') == 'audio/pcm' and fmt.get('rate', SAMPLE_RATE) == SAMPLE_RATE):
            raise RequestError(ErrorCode.INVALID_VALUE, 'Supported formats are audio/pcm at 24000 Hz, audio/pcmu '
                               'and audio/pcma.', f'{prefix}audio.{direction}.format')
    voice = (audio.get('output') or {}).get('voice')
    if voice is not None and voice not in VOICES:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{voice}'. Supported values are: {VOICES}.",
                           f'{prefix}audio.output.voice')
    turn = (audio.get('input') or {}).get('turn_detection')
    if turn is not None and turn.get('type') not in ('server_vad', 'semantic_vad'):
        raise RequestError(ErrorCode.INVALID_VALUE, "turn_detection.type must be 'server_vad' or 'semantic_vad'.",
                           f'{prefix}audio.input.turn_detection.type')
    modalities = patch.get('output_modalities')
    if modalities is not None and modalities not in (['audio'], ['text']):
        raise RequestError(ErrorCode.INVALID_VALUE, "output_modalities must be ['audio'] or ['text'].",
                           f'{prefix}output_modalities')
    from .session_rules import check_session_values  # it builds on this module's names
    check_session_values(patch, prefix)
    return patch


# `null` for a setting the session cannot be without keeps the current value, as GA treats an omitted field: an
# `audio: null` or `output_modalities: null` taken literally left a session no response could run in.
KEPT_ON_NULL = {'audio', 'output_modalities', 'tools', 'max_output_tokens', 'tool_choice', 'truncation', 'model'}
CLEARED_BY_NULL = {'turn_detection', 'transcription', 'noise_reduction'}  # the audio settings null switches off


def merge_session(current: dict, patch: dict) -> dict:
    """Only fields present change. Sub-objects like turn detection are replaced whole (filled with the
    defaults of their type); `null` clears turn_detection, transcription and noise_reduction (and the other
    nullable options: tracing, prompt, include), and keeps the rest."""
    merged = copy.deepcopy(current)
    for key, value in patch.items():
        if value is None and key in KEPT_ON_NULL:
            continue
        if key == 'audio':
            for direction, settings in value.items():
                target = merged['audio'][direction]
                for name, setting in (settings or {}).items():
                    if setting is not None or name in CLEARED_BY_NULL:
                        target[name] = expand(name, setting)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def expand(name: str, setting: object) -> object:
    if name == 'turn_detection' and isinstance(setting, dict):
        defaults = SERVER_VAD_DEFAULTS if setting.get('type') == 'server_vad' else SEMANTIC_VAD_DEFAULTS
        return {**defaults, **setting}
    if name == 'format' and isinstance(setting, dict):
        return {**PCM, **setting} if setting.get('type', PCM['type']) == PCM['type'] else dict(setting)
    return copy.deepcopy(setting)


def voice_change(current: dict, patch: dict) -> bool:
    voice = ((patch.get('audio') or {}).get('output') or {}).get('voice')
    return voice is not None and voice != current['audio']['output']['voice']
