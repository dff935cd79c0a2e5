"""The shapes of a session's pass-through options: `prompt`, `truncation`, `tracing`, `reasoning`, `include`.

The embedded server does nothing with them but echo them in `session.created`/`session.updated`, so they are
checked as the GA types define them: an echo of `prompt: {}` or `truncation: {"type": "x"}` would be a server
event no GA client can parse. Used by the mint, `session.update` and `response.create`.
"""
from __future__ import annotations

from ..protocol import ErrorCode
from .session_schema import RequestError
from .value_rules import expect_enum, expect_int, expect_list, expect_number, expect_object, expect_str

REASONING_EFFORTS = ('minimal', 'low', 'medium', 'high', 'xhigh')
INCLUDABLE = ('item.input_audio_transcription.logprobs',)
MAX_PROMPT_VARIABLES = 64


def only_known(value: dict, known: set[str], param: str) -> None:
    for key in value:
        if key not in known:
            raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{param}.{key[:100]}'.",
                               f'{param}.{key[:100]}')


def check_prompt(prompt: object, param: str) -> None:
    """A prompt template reference: `{"id", "version"?, "variables"?}` (variables: strings or content objects)."""
    if expect_object(prompt, param, nullable=True) is None:
        return
    only_known(prompt, {'id', 'version', 'variables'}, param)
    if prompt.get('id') is None:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, f"Missing required parameter: '{param}.id'.",
                           f'{param}.id')
    expect_str(prompt['id'], f'{param}.id', max_length=512)
    expect_str(prompt.get('version'), f'{param}.version', nullable=True, max_length=512)
    variables = expect_object(prompt.get('variables'), f'{param}.variables', nullable=True) or {}
    if len(variables) > MAX_PROMPT_VARIABLES:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid '{param}.variables': at most {MAX_PROMPT_VARIABLES} "
                           'variables.', f'{param}.variables')
    for name, value in variables.items():
        where = f'{param}.variables.{name[:64]}'
        if isinstance(value, dict):
            expect_enum(value.get('type'), f'{where}.type', ('input_text', 'input_image', 'input_file'))
        else:
            expect_str(value, where)


def check_truncation(truncation: object, param: str) -> None:
    """`null` (no change), `auto`, `disabled`, or `{"type": "retention_ratio", "retention_ratio", "token_limits"?}`."""
    if truncation is None:
        return
    if not isinstance(truncation, dict):
        expect_enum(truncation, param, ('auto', 'disabled'))
        return
    only_known(truncation, {'type', 'retention_ratio', 'token_limits'}, param)
    expect_enum(truncation.get('type'), f'{param}.type', ('retention_ratio',))
    if truncation.get('retention_ratio') is None:
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, "Missing required parameter: "
                           f"'{param}.retention_ratio'.", f'{param}.retention_ratio')
    expect_number(truncation['retention_ratio'], f'{param}.retention_ratio', 0.0, 1.0)
    limits = expect_object(truncation.get('token_limits'), f'{param}.token_limits', nullable=True)
    if limits is not None:
        only_known(limits, {'post_instructions'}, f'{param}.token_limits')
        expect_int(limits.get('post_instructions'), f'{param}.token_limits.post_instructions', 0, 10**7,
                   nullable=True)


def check_tracing(tracing: object, param: str) -> None:
    """`null`, `auto`, or `{"workflow_name"?, "group_id"?, "metadata"?}`."""
    if tracing is None:
        return
    if not isinstance(tracing, dict):
        expect_enum(tracing, param, ('auto',))
        return
    only_known(tracing, {'workflow_name', 'group_id', 'metadata'}, param)
    for name in ('workflow_name', 'group_id'):
        expect_str(tracing.get(name), f'{param}.{name}', nullable=True, max_length=512)
    expect_object(tracing.get('metadata'), f'{param}.metadata', nullable=True)


def check_reasoning(reasoning: object, param: str) -> None:
    if expect_object(reasoning, param, nullable=True) is None:
        return
    only_known(reasoning, {'effort'}, param)
    if reasoning.get('effort') is not None:
        expect_enum(reasoning['effort'], f'{param}.effort', REASONING_EFFORTS)


def check_include(include: object, param: str) -> None:
    for index, entry in enumerate(expect_list(include, param, 16, nullable=True) or []):
        expect_enum(entry, f'{param}[{index}]', INCLUDABLE)
