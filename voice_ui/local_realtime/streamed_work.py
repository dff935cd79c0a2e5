"""Agent work that streams: captions while the user speaks, and replies spoken sentence by sentence.

Both are optional agent abilities (the SpeechAgent has them; the echo agent does not):
- `hear(item_id, pcm, language, prompt) -> AsyncIterator[str]`: audio of the next user item as it arrives; yields
  each caption (text to append) as soon as it is known. The engine sends them as
  `conversation.item.input_audio_transcription.delta` events for that item id (the id
  `input_audio_buffer.speech_started` announced, or in manual mode the id the commit will use), so at commit only
  the rest remains. `transcribe_item(item_id, audio, ...)` then gives the final text, which `...completed`
  carries whole as always.
- `respond_stream(history, audio, instructions, tools)`: an async iterator of `Reply` pieces (text, its audio,
  its word timing); the last carries the tool calls. Each piece is queued as it arrives, so the first
  sentence plays while the next is synthesised; a cancelled response stops the iteration at once.
The functions taking an engine are sans-I/O, like the engine; `perform_streamed` is the transport's glue.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..protocol import ErrorCode, ServerEvent
from .actions import Respond, Transcribe
from .events import error_event, event
from .reply_pieces import PieceStream
from .server_agent import Reply
from .server_conversation import agreement, held_punctuation, words

log = logging.getLogger(__name__)
MAX_CAPTIONED_ITEMS = 16
CANCEL_CHECK_S = 0.05  # a safety net: the response's end wakes the watcher at once


@dataclass(frozen=True)
class Listen:
    """Work: the next user item's audio as it arrives, for an agent that can `hear`."""
    item_id: str
    pcm: bytes
    language: str | None
    prompt: str | None


@dataclass(frozen=True)
class CheckAgent:
    """Work at session start: an agent whose models fail to load says so with a GA `error` event."""


@contextlib.contextmanager
def agent_seat(agent):
    """A seat for the session when the agent limits its concurrent sessions (`seats`); yields the refusal."""
    seats = getattr(agent, 'seats', None)
    refusal = seats.take() if seats is not None else None
    try:
        yield refusal
    finally:
        if seats is not None and refusal is None:
            seats.release()


def hearing_for(agent, engine, start_work: Callable[[Listen], None]) -> Callable[[str, bytes], None] | None:
    """The engine's `hearing` hook for an agent that can hear (else None): each appended chunk becomes work."""
    if not hasattr(agent, 'hear'):
        return None

    def heard(item_id: str, pcm: bytes) -> None:
        transcription = engine.session['audio']['input']['transcription'] or {}
        start_work(Listen(item_id, pcm, transcription.get('language'), transcription.get('prompt')))
    return heard


class Captions:
    """What was already sent as transcription deltas, per item (bounded: stale entries age out)."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}

    def add(self, item_id: str, text: str) -> str:
        """The delta text for a caption, which continues what was sent (its own leading space or punctuation)."""
        before = self.sent.pop(item_id, '')
        piece = text if before else text.lstrip()
        self.sent[item_id] = before + piece
        while len(self.sent) > MAX_CAPTIONED_ITEMS:
            self.sent.pop(next(iter(self.sent)))
        return piece

    def remainder(self, item_id: str, final: str) -> str:
        """What of `final` follows the captions already sent: the last sent word's held-back punctuation, then the
        words after those sent. Deltas are append-only: when `final` does not begin with the words sent (case and
        punctuation aside), `...completed` alone corrects them."""
        before, final_words = self.sent.pop(item_id, '').split(), final.split()
        if not before:
            return final
        if agreement(before, final_words) < len(before):
            return ''
        rest = ' '.join(final_words[len(before):])
        return held_punctuation(before[-1], final_words[len(before) - 1]) + (' ' + rest if rest else '')


def caption_ready(engine, item_id: str, text: str, now: float) -> None:
    """A piece of the item's speech was decoded while the user speaks: send it as a transcription delta."""
    if engine.closed or not text.strip() or engine.session['audio']['input']['transcription'] is None:
        return
    item = next((item for item in engine.conversation.items if item.id == item_id), None)
    if (item is None and item_id != engine.next_user_item_id) or (item is not None and not item.transcribing):
        return  # cleared meanwhile, or its final transcript already went out
    for piece in words(engine.captions.add(item_id, text)):
        engine.send(event(ServerEvent.INPUT_TRANSCRIPTION_DELTA, item_id=item_id, content_index=0, delta=piece), now)


def piece_ready(engine, response_id: str, piece: Reply | None, now: float) -> bool:
    """One piece of a streamed reply (None: the reply is complete). False: the response is gone, stop."""
    run = engine.active
    if engine.closed or run is None or run.id != response_id or run.finished:
        return False
    stream = run.__dict__.get('piece_stream')
    if stream is None:
        if run.streaming:
            return False
        stream = run.__dict__['piece_stream'] = PieceStream(run, now)
    try:
        return stream.add(piece, now) if piece is not None else stream.finish(now)
    except Exception:
        log.exception('streamed reply failed')
        engine.queue(run.fail('the streamed reply could not be sent'), now)
        return False


async def perform_streamed(agent, engine, work, wake: asyncio.Event) -> bool:
    """Run `work` if it needs a streaming ability of `agent`; False when the transport should run it as before.
    Exceptions of a `Transcribe` propagate (the transport reports them as `...transcription.failed`)."""
    if isinstance(work, CheckAgent):
        check = getattr(agent, 'load_problem', None)
        problem = await check() if check is not None else None
        if problem is not None and not engine.closed:
            engine.send(error_event({'type': 'server_error', 'code': ErrorCode.SERVER_ERROR.value,
                                     'message': f'Offline speech is unavailable: {problem}'}, None), time.monotonic())
            wake.set()
        return True
    if isinstance(work, Listen):
        hear = getattr(agent, 'hear', None)
        if hear is not None:
            try:
                async for text in hear(work.item_id, work.pcm, work.language, work.prompt):
                    caption_ready(engine, work.item_id, text, time.monotonic())
                    wake.set()
            except Exception as exc:  # captions are a bonus: the commit still decodes everything
                log.warning('live recognition failed: %r', exc)
            wake.set()
        return True
    if isinstance(work, Transcribe) and hasattr(agent, 'transcribe_item'):
        text = await agent.transcribe_item(work.item_id, work.audio, work.language, work.prompt)
        engine.transcription_ready(work.item_id, text, None, time.monotonic())
        wake.set()
        return True
    if isinstance(work, Respond) and hasattr(agent, 'respond_stream'):
        await stream_reply(agent, engine, work, wake)
        return True
    return False


async def stream_reply(agent, engine, work: Respond, wake: asyncio.Event) -> None:
    """Feed the agent's pieces to the engine; when the response ends early (cancelled, interrupted, failed) the
    agent is stopped at its next await: a sentence being synthesised is abandoned and no further one starts."""
    pieces = agent.respond_stream(work.history, work.audio, work.instructions, work.tools)
    feeding = asyncio.create_task(feed_pieces(pieces, engine, work, wake))
    ended = asyncio.Event()
    if still_wanted(engine, work.response_id):
        run, finished = engine.active, engine.active.on_finished
        run.on_finished = lambda ending: (finished(ending), ended.set())  # told the moment the response ends
    ending = asyncio.create_task(ended.wait())
    try:
        while not feeding.done():
            await asyncio.wait({feeding, ending}, timeout=CANCEL_CHECK_S, return_when=asyncio.FIRST_COMPLETED)
            if not feeding.done() and not still_wanted(engine, work.response_id):
                feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeding
    finally:
        feeding.cancel()
        ending.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pieces.aclose()
        wake.set()


def still_wanted(engine, response_id: str) -> bool:
    run = engine.active
    return not engine.closed and run is not None and run.id == response_id and not run.finished


async def feed_pieces(pieces, engine, work: Respond, wake: asyncio.Event) -> None:
    try:
        async for piece in pieces:
            wanted = piece_ready(engine, work.response_id, piece, time.monotonic())
            wake.set()
            if not wanted:
                return
        piece_ready(engine, work.response_id, None, time.monotonic())
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning('agent reply failed: %r', exc)
        if still_wanted(engine, work.response_id):
            if 'piece_stream' in engine.active.__dict__:
                engine.queue(engine.active.fail(str(exc) or type(exc).__name__), time.monotonic())
            else:
                engine.reply_ready(work.response_id, None, str(exc) or type(exc).__name__, time.monotonic())
