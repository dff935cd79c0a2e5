"""Function calling as GA does it: `tools` and `tool_choice` checked and resolved, the agent's calls vetted.

The session (or one response) names its function tools; `tool_choice` says whether the model may (`auto`),
must (`required`, or one named function) or must not (`none`) call them. The engine hands the agent a
`ToolOffer` and holds the reply to it: a call to a function that was not offered never reaches the client.
"""
from __future__ import annotations

import re

from ..protocol import ErrorCode
from .server_agent import NO_TOOLS, ToolCall, ToolOffer
from .session_schema import RequestError
from .tokens import new_id

TOOL_FIELDS = {'type', 'name', 'description', 'parameters'}
NAME = re.compile(r'^[a-zA-Z0-9_-]{1,64}$')
CHOICE_MODES = ('auto', 'none', 'required')
MAX_TOOLS = 128
ARGUMENT_PIECE_CHARS = 12  # about one token of JSON per `response.function_call_arguments.delta`


def validate_tools(tools: object, param: str) -> list[dict]:
    if not isinstance(tools, list):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{param}': expected an array.", param)
    if len(tools) > MAX_TOOLS:
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid '{param}': at most {MAX_TOOLS} tools.", param)
    names: set[str] = set()
    for index, tool in enumerate(tools):
        where = f'{param}[{index}]'
        if not isinstance(tool, dict):
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{where}': expected an object.", where)
        if tool.get('type', 'function') != 'function':
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{str(tool.get('type'))[:64]}'. The "
                               "embedded server supports tools of type 'function' only.", f'{where}.type')
        for key in tool:
            if key not in TOOL_FIELDS:
                raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{where}.{key}'.",
                                   f'{where}.{key}')
        name = tool.get('name')
        if not isinstance(name, str) or not NAME.match(name):
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid '{where}.name': expected a string of letters, "
                               'digits, underscores or dashes (1 to 64).', f'{where}.name')
        if name in names:
            raise RequestError(ErrorCode.INVALID_VALUE, f"Duplicate tool name '{name}'.", f'{where}.name')
        names.add(name)
        if tool.get('description') is not None and not isinstance(tool['description'], str):
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{where}.description': expected a "
                               'string.', f'{where}.description')
        if tool.get('parameters') is not None and not isinstance(tool['parameters'], dict):
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{where}.parameters': expected a JSON "
                               'Schema object.', f'{where}.parameters')
    return tools


def validate_tool_choice(choice: object, param: str) -> object:
    if isinstance(choice, str):
        if choice not in CHOICE_MODES:
            raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid value: '{choice[:64]}'. Supported values are: "
                               "'auto', 'none' and 'required'.", param)
        return choice
    if not isinstance(choice, dict):
        raise RequestError(ErrorCode.INVALID_VALUE, f"Invalid type for '{param}': expected a string or an object.",
                           param)
    if choice.get('type') != 'function':
        raise RequestError(ErrorCode.INVALID_VALUE, "The embedded server supports tool_choice 'auto', 'none', "
                           "'required' or {'type': 'function', 'name': ...}.", f'{param}.type')
    for key in choice:
        if key not in ('type', 'name'):
            raise RequestError(ErrorCode.UNKNOWN_PARAMETER, f"Unknown parameter: '{param}.{key}'.", f'{param}.{key}')
    if not isinstance(choice.get('name'), str):
        raise RequestError(ErrorCode.MISSING_REQUIRED_PARAMETER, f"Missing required parameter: '{param}.name'.",
                           f'{param}.name')
    return choice


def resolve(tools: list[dict] | None, choice: object, param: str = 'tool_choice') -> ToolOffer:
    """What the agent may call; a named choice must be one of `tools`."""
    tools = list(tools or [])
    if choice in (None, 'auto'):
        return ToolOffer(tuple(tools)) if tools else NO_TOOLS
    if choice == 'none' or not tools:
        if isinstance(choice, dict):
            raise_unknown_choice(choice['name'], param)
        return NO_TOOLS
    if choice == 'required':
        return ToolOffer(tuple(tools), 'required')
    name = choice['name']
    if name not in {tool['name'] for tool in tools}:
        raise_unknown_choice(name, param)
    return ToolOffer(tuple(tools), 'function', name)


def raise_unknown_choice(name: str, param: str) -> None:
    raise RequestError(ErrorCode.INVALID_VALUE, f"Tool choice 'function' with name '{name[:64]}' is not among the "
                       "tools.", param)


def vetted_calls(offer: ToolOffer, calls: tuple[ToolCall, ...]) -> tuple[tuple[ToolCall, ...], str | None]:
    """The calls that may reach the client, each with a call id, and an error when the offer was not kept."""
    allowed = {offer.name} if offer.choice == 'function' else offer.names()
    kept = tuple(ToolCall(call.name, call.arguments or '{}', call.call_id or new_id('call'))
                 for call in calls if call.name in allowed)
    if offer.must_call and not kept:
        wanted = f"the function '{offer.name}'" if offer.name else 'one of its tools'
        return (), f'The agent did not call {wanted}, as tool_choice requires.'
    return kept, None


def argument_pieces(arguments: str) -> list[str]:
    return [arguments[i:i + ARGUMENT_PIECE_CHARS] for i in range(0, len(arguments), ARGUMENT_PIECE_CHARS)]


def check_session_tools(patch: dict, merged: dict) -> None:
    """`session.tools` / `session.tool_choice`: well-formed, and a named choice among the tools."""
    if patch.get('tools') is not None:
        validate_tools(patch['tools'], 'session.tools')
    if patch.get('tool_choice') is not None:
        validate_tool_choice(patch['tool_choice'], 'session.tool_choice')
    resolve(merged.get('tools'), merged.get('tool_choice'), 'session.tool_choice')
