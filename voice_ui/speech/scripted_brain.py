"""A brain that decides by rules instead of a language model: for tests, demos and offline tool flows.

    brain = ScriptedBrain(
        when_heard('weather', call_tool('get_weather', {'city': 'Paris'})),
        after_tool(lambda name, output: f'The weather in Paris: {output}.'),
    )
    agent = SpeechAgent(brain=brain)   # or: BrainAgent(brain) without the speech extra

Rules are tried in order; the first that answers (a `Reply` or text) wins; when none does, the fallback brain
(the echo by default) answers. A rule that calls a tool answers only when the response offers that tool, so
`tool_choice: "none"` is honoured without the rules knowing about it.
"""
from __future__ import annotations

import json
from collections.abc import Callable

from ..local_realtime.server_agent import NO_TOOLS, Message, Reply, ToolCall, ToolOffer
from .brains import Brain, EchoBrain

Rule = Callable[[list[Message], ToolOffer], 'Reply | str | None']


class ScriptedBrain:
    def __init__(self, *rules: Rule, fallback: Brain | None = None, description: str = 'scripted rules') -> None:
        self.rules = rules
        self.fallback = fallback or EchoBrain()
        self.description = description
        self.seen: list[tuple[list[Message], ToolOffer]] = []  # what each reply was asked, for tests

    async def reply(self, history: list[Message], instructions: str | None = None,
                    tools: ToolOffer = NO_TOOLS) -> Reply:
        self.seen.append((list(history), tools))
        for rule in self.rules:
            answer = rule(history, tools)
            if answer is not None:
                return Reply(answer) if isinstance(answer, str) else answer
        answer = await self.fallback.reply(history, instructions, tools)
        return Reply(answer) if isinstance(answer, str) else answer


def when_heard(phrase: str, then: Rule | Reply | str) -> Rule:
    """`then`, when the latest turn is the user's and contains `phrase` (case-insensitive)."""
    def rule(history: list[Message], tools: ToolOffer) -> Reply | str | None:
        latest = history[-1] if history else None
        if latest is None or latest.role != 'user' or phrase.lower() not in latest.text.lower():
            return None
        return then(history, tools) if callable(then) else then
    return rule


def call_tool(name: str, arguments: dict | None = None, say: str = '') -> Rule:
    """Call the function `name` (with `arguments` as JSON), saying `say` first; only if it is offered."""
    def rule(history: list[Message], tools: ToolOffer) -> Reply | None:
        allowed = {tools.name} if tools.choice == 'function' else tools.names()
        if name not in allowed:
            return None
        return Reply(say, b'', (ToolCall(name, json.dumps(arguments or {})),))
    return rule


def after_tool(say: Callable[[str, str], str]) -> Rule:
    """When the latest turn is a function's output: speak `say(function name, output)`."""
    def rule(history: list[Message], tools: ToolOffer) -> str | None:
        if not history or history[-1].role != 'tool':
            return None
        output = history[-1]
        calls = [call for message in history for call in message.tool_calls if call.call_id == output.call_id]
        return say(calls[-1].name if calls else '', output.text)
    return rule


def say(text: str) -> Rule:
    return lambda history, tools: text
