"""`@tool`: a typed Python function becomes something the voice agent can call.

    @tool
    def current_time(timezone: str = 'UTC') -> str:
        '''The current date and time in an IANA time zone.

        Args:
            timezone: e.g. "Europe/Berlin".
        '''

The name is the function's, the description its docstring, the parameters' JSON schema comes from the type hints
(pydantic); the model's arguments are validated against the same hints before the function runs. The decorated
function stays a plain callable, so it can be tested and reused directly.
"""
from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, overload

from .context import ToolContext
from .schema import Signature, ToolDefinitionError

NAME = re.compile(r'^[A-Za-z0-9_-]{1,64}$')  # what OpenAI accepts as a function name
MAX_DESCRIPTION_CHARS = 4_000


class ToolError(Exception):
    """Raise it in a tool to give the model a clean error message (no exception type, no traceback)."""


class Tool:
    """A function with what the model needs to call it: name, description, JSON schema of the parameters."""

    def __init__(self, function: Callable, *, name: str | None = None, description: str | None = None,
                 timeout_s: float | None = None) -> None:
        if not callable(function):
            raise ToolDefinitionError(f'@tool needs a function, got {function!r}')
        self.function = function
        self.name = name or getattr(function, '__name__', '')
        if not NAME.match(self.name):
            raise ToolDefinitionError(f'tool name {self.name!r} must be 1-64 letters, digits, "_" or "-"')
        if timeout_s is not None and not timeout_s > 0:
            raise ToolDefinitionError(f'tool {self.name!r}: timeout must be positive, got {timeout_s!r}')
        self.timeout_s = timeout_s
        self.signature = Signature(function, self.name)
        self.description = (description or self.signature.description)[:MAX_DESCRIPTION_CHARS]
        self.parameters: dict = self.signature.parameters
        self.is_async = inspect.iscoroutinefunction(function) or (  # an object with `async def __call__`
            not inspect.isroutine(function) and inspect.iscoroutinefunction(type(function).__call__))
        functools.update_wrapper(self, function)

    def definition(self) -> dict:
        """The GA Realtime session's function tool: `{"type": "function", "name", "description", "parameters"}`."""
        return {'type': 'function', 'name': self.name, 'description': self.description,
                'parameters': self.parameters}

    def bind(self, arguments: dict, context: ToolContext) -> tuple[list, dict]:
        """Validate the model's arguments (raises pydantic.ValidationError) into a call of the function."""
        validated = self.signature.model.model_validate(arguments)
        return self.signature.call_arguments(validated, context)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f'<tool {self.name}>'


@overload
def tool(function: Callable, /) -> Tool: ...


@overload
def tool(*, name: str | None = None, description: str | None = None,
         timeout: float | None = None) -> Callable[[Callable], Tool]: ...


def tool(function: Callable | None = None, /, *, name: str | None = None, description: str | None = None,
         timeout: float | None = None) -> Tool | Callable[[Callable], Tool]:
    """Make `function` a tool: `@tool`, or `@tool(name=..., description=..., timeout=seconds)`.

    Sync functions run in a worker thread, async ones on the event loop. A parameter annotated `ToolContext`
    receives the call's context (announcements, background work, session state) and is hidden from the model.
    """
    def wrap(f: Callable) -> Tool:
        return Tool(f, name=name, description=description, timeout_s=timeout)
    return wrap(function) if function is not None else wrap
