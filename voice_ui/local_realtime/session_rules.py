"""Types and ranges of a GA session's values, checked at mint and on every `session.update`.

A token's session is checked as strictly as an update, so a bad config can never be minted and then crash
every session opened with it. Ranges are the service's where it documents them, otherwise generous but finite.
"""
from __future__ import annotations

from ..protocol import ErrorCode
from .function_calls import validate_tool_choice
from .session_options import check_include, check_prompt, check_reasoning, check_tracing, check_truncation
from .session_schema import SEMANTIC_VAD_DEFAULTS, SERVER_VAD_DEFAULTS, RequestError
from .value_rules import (expect_bool, expect_enum, expect_int, expect_list, expect_number, expect_object,
                          expect_str)

MAX_OUTPUT_TOKENS = 4096
MAX_TOOLS = 128
EAGERNESS = ('low', 'medium', 'high', 'auto')
NOISE_REDUCTION = ('near_field', 'far_field')
VAD_MS_MAX = 10_000
OPTION_CHECKS = {'tracing': check_tracing, 'truncation': check_truncation, 'prompt': check_prompt,
                 'reasoning': check_reasoning, 'include': check_include}


def check_session_values(patch: dict, prefix: str) -> None:
    """Raise `RequestError` for the first value of a wrong type or out of range (keys are already known)."""
    if 'model' in patch:
        expect_str(patch['model'], f'{prefix}model', nullable=True, max_length=200)
    if 'instructions' in patch:
        expect_str(patch['instructions'], f'{prefix}instructions', nullable=True)
    if 'output_modalities' in patch:
        expect_list(patch['output_modalities'], f'{prefix}output_modalities', nullable=True)
    if 'max_output_tokens' in patch:
        tokens = patch['max_output_tokens']
        if tokens != 'inf':
            expect_int(tokens, f'{prefix}max_output_tokens', 1, MAX_OUTPUT_TOKENS, nullable=True)
    if 'tools' in patch:
        for index, tool in enumerate(expect_list(patch['tools'], f'{prefix}tools', MAX_TOOLS, nullable=True) or []):
            expect_object(tool, f'{prefix}tools[{index}]')
    if patch.get('tool_choice') is not None:  # a mode or a named function, whichever way the session comes
        validate_tool_choice(patch['tool_choice'], f'{prefix}tool_choice')
    for name, check in OPTION_CHECKS.items():  # pass-through options: checked to their GA shapes
        if name in patch:
            check(patch[name], f'{prefix}{name}')
    if 'parallel_tool_calls' in patch:
        expect_bool(patch['parallel_tool_calls'], f'{prefix}parallel_tool_calls')
    audio = patch.get('audio') or {}
    check_audio_input(audio.get('input') or {}, f'{prefix}audio.input.')
    check_audio_output(audio.get('output') or {}, f'{prefix}audio.output.')


def check_format(fmt: dict | None, prefix: str) -> None:
    if fmt is None:
        return
    if 'type' in fmt:
        expect_str(fmt['type'], f'{prefix}type')
    if 'rate' in fmt:
        expect_int(fmt['rate'], f'{prefix}rate', 1, 192_000)


def check_audio_input(audio_in: dict, prefix: str) -> None:
    check_format(audio_in.get('format'), f'{prefix}format.')
    transcription = audio_in.get('transcription')
    if transcription is not None:
        for name in ('model', 'language', 'prompt'):
            if name in transcription:
                expect_str(transcription[name], f'{prefix}transcription.{name}', nullable=True, max_length=4096)
    noise = audio_in.get('noise_reduction')
    if noise is not None and 'type' in noise:
        expect_enum(noise['type'], f'{prefix}noise_reduction.type', NOISE_REDUCTION)
    turn = audio_in.get('turn_detection')
    if turn is not None:
        check_turn_detection(turn, f'{prefix}turn_detection.')


def check_turn_detection(turn: dict, prefix: str) -> None:
    kind = expect_enum(turn.get('type'), f'{prefix}type', ('server_vad', 'semantic_vad'))
    allowed = SERVER_VAD_DEFAULTS if kind == 'server_vad' else SEMANTIC_VAD_DEFAULTS
    for key in turn:
        if key not in allowed:
            raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{prefix}{key}' (not a "
                               f'{kind} setting).', f'{prefix}{key}')
    if 'threshold' in turn:
        expect_number(turn['threshold'], f'{prefix}threshold', 0.0, 1.0)
    for name in ('prefix_padding_ms', 'silence_duration_ms'):
        if name in turn:
            expect_int(turn[name], f'{prefix}{name}', 0, VAD_MS_MAX)
    if 'idle_timeout_ms' in turn:
        expect_int(turn['idle_timeout_ms'], f'{prefix}idle_timeout_ms', 5_000, 30_000, nullable=True)
    for name in ('create_response', 'interrupt_response'):
        if name in turn:
            expect_bool(turn[name], f'{prefix}{name}')
    if 'eagerness' in turn:
        expect_enum(turn['eagerness'], f'{prefix}eagerness', EAGERNESS)


def check_audio_output(audio_out: dict, prefix: str) -> None:
    check_format(audio_out.get('format'), f'{prefix}format.')
    if 'voice' in audio_out and not isinstance(audio_out['voice'], dict):
        expect_str(audio_out['voice'], f'{prefix}voice')
    if 'speed' in audio_out:
        expect_number(audio_out['speed'], f'{prefix}speed', 0.25, 1.5)
