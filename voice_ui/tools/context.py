"""What a running tool may reach besides its arguments: a parameter annotated `ToolContext` is filled in by the
runner and never shown to the model.

A tool call must answer quickly (the person is waiting, and a barge-in cancels it). Work that outlives the call,
like a timer, runs in the background of the session and speaks up later through `announce`.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Announcement:
    """Something a tool wants the agent to tell the person unprompted (e.g. "the tea timer is done")."""
    tool: str
    call_id: str
    text: str


@dataclass(frozen=True, eq=False)
class ToolContext:
    call_id: str
    tool: str
    state: dict[str, Any] = field(repr=False)  # per-session scratch space, shared by all tools of the session
    _announce: Callable[[Announcement], None] = field(repr=False)
    _spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any] | None] = field(repr=False)

    def announce(self, text: str) -> None:
        """Ask the agent to tell the person `text` now (it is sent as a system message followed by a response)."""
        self._announce(Announcement(self.tool, self.call_id, str(text)))

    def run_in_background(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run `work` after the call has answered; returns its task (None once the session is closed, or when called
        from a sync tool's thread: the work is scheduled all the same). It belongs to the session: closing the
        session cancels it, a barge-in does not (the call itself is over by then)."""
        return self._spawn(work)
