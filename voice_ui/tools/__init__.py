"""Tools the voice agent can call: `@tool` functions, collected in a `Toolbox`, run by a `ToolRunner` per session.

See examples.py for the pattern to copy, and README's "Tools" section. Declaring tools needs only pydantic; the
runner, its records and the card are NiceGUI's side and load on first use (the embedded server needs none of it).
"""
import importlib

from .context import Announcement, ToolContext
from .decorator import Tool, ToolError, tool
from .events import ToolReply, announcement_events, function_call_output, response_create
from .schema import ToolDefinitionError
from .toolbox import ToolLoadError, Toolbox, tools_of

_LAZY = {'FunctionCall': 'runner', 'ToolRunner': 'runner', 'ToolCallRecord': 'record', 'ToolLimits': 'record',
         'ToolStatus': 'record'}

__all__ = ['Announcement', 'FunctionCall', 'Tool', 'ToolCallRecord', 'ToolContext', 'ToolDefinitionError',
           'ToolError', 'ToolLimits', 'ToolLoadError', 'ToolReply', 'ToolRunner', 'ToolStatus', 'Toolbox',
           'announcement_events', 'function_call_output', 'response_create', 'tool', 'tools_of']


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f'.{_LAZY[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
