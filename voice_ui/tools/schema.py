"""A Python signature as a function tool: a pydantic model that validates the model's arguments, and its JSON schema.

Descriptions come from the docstring: the text before the first section is the tool's description; an
`Args:` section (Google style) or `:param name:` lines (Sphinx style) describe the parameters, unless a
parameter already carries `Annotated[..., Field(description=...)]`.
"""
from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from .context import ToolContext

SECTION = re.compile(r'^(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?|Notes?|See Also):\s*$')
GOOGLE_ARG = re.compile(r'^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$')
SPHINX_PARAM = re.compile(r'^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$')
ARG_SECTIONS = {'Args', 'Arguments', 'Parameters', 'Params'}


class ToolDefinitionError(TypeError):
    """The function cannot be a tool (e.g. `*args`, a bad name); raised when it is decorated, not when called."""


class Signature:
    """How to turn validated arguments back into a call of the function."""

    def __init__(self, function: Callable, tool_name: str) -> None:
        self.function = function
        try:
            hints = typing.get_type_hints(function, include_extras=True)
        except Exception as error:  # e.g. a forward reference to a name that does not exist
            raise ToolDefinitionError(f'tool {tool_name!r}: its type hints cannot be resolved ({error})') from error
        summary, docs = parse_docstring(inspect.getdoc(function) or '')
        self.description = summary
        self.context_parameter: str | None = None
        self.positional: list[str] = []  # the model fields of positional-only parameters, in order
        fields: dict[str, Any] = {}
        for index, (name, parameter) in enumerate(inspect.signature(function).parameters.items()):
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise ToolDefinitionError(f'tool {tool_name!r}: *{name} / **{name} cannot be described to the model; '
                                          'list the parameters explicitly')
            annotation = hints.get(name, Any)
            if _is_context(annotation):
                self.context_parameter = name
                continue
            if parameter.kind == parameter.POSITIONAL_ONLY:
                self.positional.append(f'p{index}')
            default = ... if parameter.default is parameter.empty else parameter.default
            described = FieldInfo.from_annotated_attribute(annotation, default).description is not None
            extra = {'description': docs[name]} if name in docs and not described else {}
            field = Field(default, alias=name, **extra)  # an explicit description=None would drop Annotated's
            fields[f'p{index}'] = (annotation, field)  # safe field names (no clash with BaseModel's); alias = name
        try:
            self.model: type[BaseModel] = create_model(f'{tool_name}_arguments', __config__=ARGUMENTS_CONFIG,
                                                       **fields)
            self.parameters = clean_schema(self.model.model_json_schema(by_alias=True))
        except Exception as error:  # pydantic refuses a type it cannot validate or describe
            raise ToolDefinitionError(f'tool {tool_name!r}: its parameters cannot be described as JSON schema '
                                      f'({type(error).__name__}: {error})') from error
        self.parameters.setdefault('properties', {})
        self.parameters.setdefault('required', [])

    def call_arguments(self, validated: BaseModel, context: ToolContext) -> tuple[list, dict]:
        """Positional and keyword arguments for the function; unset keyword ones keep the function's defaults."""
        args = [getattr(validated, f) for f in self.positional]  # all of them: a gap would shift the rest
        fields = validated.model_fields_set - set(self.positional)
        values = {type(validated).model_fields[f].alias: getattr(validated, f) for f in fields}
        if self.context_parameter:
            values[self.context_parameter] = context
        return args, values


ARGUMENTS_CONFIG = ConfigDict(extra='forbid', populate_by_name=False, arbitrary_types_allowed=False,
                              hide_input_in_errors=True)


def _is_context(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return isinstance(annotation, type) and issubclass(annotation, ToolContext)


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary (text before the first section) and the parameter descriptions of a docstring."""
    summary: list[str] = []
    params: dict[str, str] = {}
    section = current = None
    arg_indent = -1  # indentation of the parameter lines in an Args section; deeper lines continue one
    for raw in doc.splitlines():
        line, indent = raw.strip(), len(raw) - len(raw.lstrip())
        if match := SECTION.match(line):
            section, current, arg_indent = match.group(1), None, -1
        elif match := SPHINX_PARAM.match(line):
            section, current = 'Sphinx', match.group(1)
            params[current] = match.group(2).strip()
        elif line.startswith(':'):  # :returns:, :raises: ... end a Sphinx parameter
            section, current = 'Sphinx', None
        elif section is None:
            summary.append(line)
        elif not line:
            current = None if section == 'Sphinx' else current
        elif section in ARG_SECTIONS and (arg_indent < 0 or indent <= arg_indent) and (m := GOOGLE_ARG.match(line)):
            arg_indent, current = indent, m.group(1).lstrip('*')
            params[current] = m.group(2).strip()
        elif current:  # a continuation line
            params[current] = f'{params[current]} {line}'.strip()
    return '\n'.join(summary).strip(), params


SUBSCHEMA_MAPS = ('properties', '$defs', 'definitions', 'patternProperties')
SUBSCHEMA_LISTS = ('anyOf', 'oneOf', 'allOf', 'prefixItems')
SUBSCHEMAS = ('items', 'additionalProperties', 'not', 'contains')


def clean_schema(schema: Any) -> Any:
    """Drop pydantic's generated `title`s (noise for the model) in schema positions only, never inside values
    such as `default`, `enum` or `const` (a property may well be called "title")."""
    if not isinstance(schema, dict):
        return schema
    cleaned = {k: v for k, v in schema.items() if not (k == 'title' and isinstance(v, str))}
    for key in SUBSCHEMA_MAPS:
        if isinstance(cleaned.get(key), dict):
            cleaned[key] = {name: clean_schema(sub) for name, sub in cleaned[key].items()}
    for key in SUBSCHEMA_LISTS:
        if isinstance(cleaned.get(key), list):
            cleaned[key] = [clean_schema(sub) for sub in cleaned[key]]
    for key in SUBSCHEMAS:
        if isinstance(cleaned.get(key), dict):
            cleaned[key] = clean_schema(cleaned[key])
    return cleaned


__all__ = ['Signature', 'ToolDefinitionError', 'clean_schema', 'parse_docstring']
