"""One tool call as the page shows it, and the bounds every call is held to."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nicegui.binding import bindable_dataclass


class ToolStatus(StrEnum):
    RUNNING = 'running'
    DONE = 'done'
    ERROR = 'error'          # unknown tool, invalid arguments, the tool raised or timed out: the model is told
    CANCELLED = 'cancelled'  # barge-in or close: the model is told nothing


@bindable_dataclass(bindable_fields=['arguments', 'status', 'result', 'error', 'duration_s'])
class ToolCallRecord:
    """Bindable, so a card bound to it updates the moment the call finishes."""
    call_id: str
    name: str
    arguments: str            # for display: pretty JSON (or the raw text if it was not JSON), bounded
    status: str = ToolStatus.RUNNING
    result: str = ''          # for display: the tool's output, bounded
    error: str = ''           # for display: what went wrong (the model receives the same text as JSON)
    duration_s: float | None = None
    output: str | None = None  # exactly what the model receives; None until finished, and for cancelled calls
    replied: bool = False      # its output was handed out once: never twice
    item_id: str = ''          # the `function_call` conversation item, for placing the card in the transcript


@dataclass(frozen=True)
class ToolLimits:
    timeout_s: float = 30.0           # per call, unless the tool sets its own (`@tool(timeout=...)`)
    max_argument_chars: int = 32_000  # the model's argument JSON; longer is refused before parsing
    max_output_chars: int = 16_000    # what the model receives; longer is cut with a note
    max_display_chars: int = 2_000    # what a card shows
    max_running: int = 8              # concurrent calls per session; more get an error output
    max_records: int = 200            # finished records kept per session (memory stays bounded)
    max_id_chars: int = 128           # call ids and names from the browser are untrusted
