"""Built-in example tools (`python main.py --example-tools`): offline, and the pattern to copy for your own.

A tool is a typed function with a docstring. The model sees the name, the docstring's summary as the
description, and a JSON schema built from the type hints; `Annotated[..., Field(...)]` adds descriptions and
limits that are also enforced before the function runs. Return a string or anything JSON-serialisable; raise
`ToolError` to tell the model what went wrong in words it can pass on. Keep a call short: work that outlives it
(a timer) goes to `context.run_in_background` and speaks up later with `context.announce`.

Put your own tools in a module and run `python main.py --tools my_tools` (the flag repeats).
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from .context import ToolContext
from .decorator import ToolError, tool

MIN_TIMER_S = 1.0
MAX_TIMER_S = 24 * 3600
MAX_TIMERS = 20


@tool
def current_time(
    timezone: Annotated[str, Field(max_length=64, description='IANA time zone, e.g. "Europe/Berlin" or '
                                   '"America/New_York"; "UTC" if the person names none')] = 'UTC',
) -> dict:
    """Tell the current date and time in a time zone. Use it whenever the person asks what time or day it is."""
    try:
        zone = ZoneInfo(timezone.strip())
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a zone key at all (e.g. a path)
        raise ToolError(f'unknown time zone {timezone!r}: use an IANA name such as "Europe/Paris"') from None
    now = datetime.now(zone)
    return {'timezone': str(zone), 'iso': now.isoformat(timespec='seconds'),
            'spoken': f'{now:%A} {now.day} {now:%B %Y, %H:%M}', 'utc_offset': now.strftime('%z'),
            'abbreviation': now.tzname()}


@tool
async def start_timer(
    context: ToolContext,
    minutes: Annotated[float, Field(ge=0, le=MAX_TIMER_S / 60, description='whole or fractional minutes')] = 0,
    seconds: Annotated[float, Field(ge=0, le=MAX_TIMER_S, description='added to the minutes')] = 0,
    label: Annotated[str, Field(max_length=60, description='what the timer is for, e.g. "tea"')] = 'timer',
) -> str:
    """Start a countdown timer. When it runs out, you will be told, and must then tell the person."""
    total = minutes * 60 + seconds
    if not MIN_TIMER_S <= total <= MAX_TIMER_S:
        raise ToolError(f'a timer runs between {MIN_TIMER_S:g} second and 24 hours; got {total:g} seconds')
    timers = _timers(context)
    if label in timers:
        raise ToolError(f'a timer called {label!r} is already running: cancel it first or choose another label')
    if len(timers) >= MAX_TIMERS:
        raise ToolError(f'at most {MAX_TIMERS} timers can run at once')

    async def ring() -> None:
        try:
            await asyncio.sleep(total)
            context.announce(f'{_named(label)} ({_spoken(total)}) has just finished. Tell the person now, briefly.')
        finally:
            timers.pop(label, None)

    task = context.run_in_background(ring())
    if task is None:
        raise ToolError('the session is closing')
    timers[label] = (task, time.monotonic() + total)
    return f'{_named(label)} is set for {_spoken(total)}.'


@tool
def cancel_timer(label: Annotated[str, Field(max_length=60, description='the label of the timer')],
                 context: ToolContext) -> str:
    """Cancel a running timer."""
    entry = _timers(context).pop(label, None)
    if entry is None:
        raise ToolError(f'no timer called {label!r} is running (running: {", ".join(_timers(context)) or "none"})')
    entry[0].cancel()
    return f'{_named(label)} is cancelled.'


@tool
def list_timers(context: ToolContext) -> list[dict]:
    """List the running timers with the time each has left."""
    now = time.monotonic()
    return [{'label': label, 'seconds_left': round(max(0.0, ends - now))}
            for label, (_task, ends) in sorted(_timers(context).items(), key=lambda kv: kv[1][1])]


def _timers(context: ToolContext) -> dict[str, tuple[asyncio.Task, float]]:
    return context.state.setdefault('timers', {})  # per session: another tab's timers are not yours


def _named(label: str) -> str:
    """'The tea timer', but 'The timer' rather than 'The timer timer'."""
    return 'The timer' if label.strip().lower() in ('', 'timer') else f'The {label} timer'


def _spoken(total_s: float) -> str:
    """5 minutes, 90 s -> "1 minute 30 seconds" (rounded to the second)."""
    hours, rest = divmod(round(total_s), 3600)
    minutes, seconds = divmod(rest, 60)
    words = [f'{n} {unit}{"s" if n != 1 else ""}'
             for n, unit in ((hours, 'hour'), (minutes, 'minute'), (seconds, 'second')) if n]
    return ' '.join(words) or '0 seconds'
