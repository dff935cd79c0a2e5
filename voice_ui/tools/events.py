"""The GA client events that carry tool results back to the model; the browser sends them as they are."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..protocol import ClientEvent


def function_call_output(call_id: str, output: str) -> dict:
    """`conversation.item.create` with a `function_call_output` item: the answer to one `function_call`."""
    return {'type': ClientEvent.ITEM_CREATE.value,
            'item': {'type': 'function_call_output', 'call_id': call_id, 'output': output}}


def response_create() -> dict:
    return {'type': ClientEvent.RESPONSE_CREATE.value}


def announcement_events(text: str) -> list[dict]:
    """A tool speaking up later (a timer ran out): a system message for the model, then a response that voices it.
    The browser sends these only between turns (never while the person talks or the agent answers)."""
    message = {'type': 'message', 'role': 'system', 'content': [{'type': 'input_text', 'text': text}]}
    return [{'type': ClientEvent.ITEM_CREATE.value, 'item': message}, response_create()]


@dataclass(frozen=True)
class ToolReply:
    """What to send after the model's function calls: one output per finished call, then one `response.create`
    unless the batch was interrupted (barge-in, close) - the person's next turn brings its own response."""
    outputs: list[dict] = field(default_factory=list)
    respond: bool = False

    @property
    def events(self) -> list[dict]:
        return self.outputs + ([response_create()] if self.respond else [])
