"""Tools the voice agent can call: `@tool` functions, collected in a `Toolbox`, run by a `ToolRunner` per session.

See examples.py for the pattern to copy, and README's "Tools" section.
"""
from .context import Announcement, ToolContext
from .decorator import Tool, ToolError, tool
from .events import ToolReply, announcement_events, function_call_output, response_create
from .record import ToolCallRecord, ToolLimits, ToolStatus
from .runner import FunctionCall, ToolRunner
from .schema import ToolDefinitionError
from .toolbox import ToolLoadError, Toolbox, tools_of

__all__ = ['Announcement', 'FunctionCall', 'Tool', 'ToolCallRecord', 'ToolContext', 'ToolDefinitionError',
           'ToolError', 'ToolLimits', 'ToolLoadError', 'ToolReply', 'ToolRunner', 'ToolStatus', 'Toolbox',
           'announcement_events', 'function_call_output', 'response_create', 'tool', 'tools_of']
