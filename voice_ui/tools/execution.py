"""One tool call, from the model's argument text to the output text it receives.

Everything the model sends is untrusted: the argument JSON is bounded before it is parsed, may nest too deeply,
may not be an object; validation errors are reported without echoing the input. Whatever happens, the model gets
a string it can read - the result, or `{"error": "..."}` - and the conversation goes on.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import pydantic_core
from pydantic import ValidationError

from .context import ToolContext
from .decorator import Tool, ToolError
from .record import ToolLimits

log = logging.getLogger('voice_ui.tools')
MAX_ERROR_CHARS = 2_000
MAX_VALIDATION_ERRORS = 8
# Sync tools run in daemon threads of their own, not in the loop's default executor: a tool that hangs holds only
# its thread (never one NiceGUI's run.io_bound relies on), and cannot keep the process from exiting. A thread
# cannot be cancelled, so hung ones are counted and the count is capped.
MAX_TOOL_THREADS = 32
_threads = threading.BoundedSemaphore(MAX_TOOL_THREADS)


class CallFailed(Exception):
    """The call ends with an error the model is told about; `str(error)` is the message."""


def parse_arguments(text: Any, limits: ToolLimits) -> dict:
    """The model's argument string as a JSON object. An empty string means no arguments."""
    if not isinstance(text, str):
        raise CallFailed('arguments must be a JSON string')
    if len(text) > limits.max_argument_chars:
        raise CallFailed(f'arguments too long ({len(text)} characters; at most {limits.max_argument_chars})')
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except RecursionError:
        raise CallFailed('arguments nest too deeply') from None
    except ValueError as error:
        raise CallFailed(f'arguments are not valid JSON ({error})') from None
    if not isinstance(value, dict):
        raise CallFailed(f'arguments must be a JSON object, got {type(value).__name__}')
    return value


def validation_message(error: ValidationError) -> str:
    """Which argument is wrong and why, never the offending value (it may be huge, or not ours to repeat)."""
    problems = []
    for detail in error.errors(include_url=False, include_input=False, include_context=False)[:MAX_VALIDATION_ERRORS]:
        where = '.'.join(str(part)[:64] for part in detail['loc']) or 'arguments'
        problems.append(f'{where}: {detail["msg"]}')
    more = error.error_count() - len(problems)
    return 'invalid arguments: ' + '; '.join(problems) + (f' (and {more} more)' if more > 0 else '')


async def invoke(tool: Tool, arguments: dict, context: ToolContext, limits: ToolLimits) -> Any:
    """Validate, then run the tool under its timeout: async tools on the loop, sync tools in a worker thread."""
    try:
        args, kwargs = tool.bind(arguments, context)
    except ValidationError as error:
        raise CallFailed(validation_message(error)) from None
    except RecursionError:
        raise CallFailed('arguments nest too deeply') from None
    timeout = tool.timeout_s or limits.timeout_s
    try:
        async with asyncio.timeout(timeout):
            if tool.is_async:
                result = await tool.function(*args, **kwargs)
            else:  # a thread cannot be cancelled: on timeout or barge-in it runs on, its result unused
                result = await in_thread(functools.partial(tool.function, *args, **kwargs), tool.name)
            if inspect.isawaitable(result):  # a sync function that handed back a coroutine
                result = await result
    except TimeoutError:
        raise CallFailed(f'{tool.name} did not finish within {timeout:g} s') from None
    except ToolError as error:
        raise CallFailed(str(error) or type(error).__name__) from None
    except (CallFailed, asyncio.CancelledError):
        raise
    except (Exception, SystemExit) as error:  # SystemExit: e.g. argparse inside a tool - not ours to exit on
        log.warning('tool %s raised', tool.name, exc_info=True)
        raise CallFailed(f'{tool.name} failed: {type(error).__name__}: {error}') from None
    return result


def output_text(result: Any) -> str:
    """What the model reads: a string as it is, anything else as JSON (None as "done")."""
    if isinstance(result, str):
        return result
    if result is None:
        return 'done'
    try:
        return pydantic_core.to_json(result, fallback=repr).decode()
    except Exception:  # e.g. a value whose repr raises: the call still ends with something readable
        return repr(result)


def error_output(message: str) -> str:
    return json.dumps({'error': bounded(message, MAX_ERROR_CHARS)}, ensure_ascii=False)


def bounded(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying how much was cut (the note itself fits within the limit)."""
    if len(text) <= limit:
        return text
    note = f' … [truncated {len(text) - limit} characters]'
    return text[:max(0, limit - len(note))] + note


def display_arguments(text: Any, parsed: dict | None, limit: int) -> str:
    if parsed is not None:
        try:
            return bounded(json.dumps(parsed, ensure_ascii=False, indent=1), limit)
        except (ValueError, RecursionError):
            pass
    return bounded(text if isinstance(text, str) else repr(text)[:limit], limit)


async def in_thread(call: Callable[[], Any], name: str) -> Any:
    """`call()` in a daemon thread, awaited without blocking the loop."""
    if not _threads.acquire(blocking=False):
        raise CallFailed(f'too many tools are still running in threads (at most {MAX_TOOL_THREADS})')
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():  # the waiter may have gone (timeout, barge-in)
            future.set_result(value) if ok else future.set_exception(value)

    def work() -> None:
        try:
            result, ok = call(), True
        except BaseException as error:  # handed to the waiter, which turns it into an error output
            result, ok = error, False
        finally:
            _threads.release()
        try:
            loop.call_soon_threadsafe(settle, ok, result)
        except RuntimeError:  # the loop closed meanwhile: nobody is waiting
            pass

    threading.Thread(target=work, name=f'voice-ui-tool {name}', daemon=True).start()
    return await future
