"""The embedded server's real voice: faster-whisper hears, a brain decides, piper speaks."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping

from ..local_realtime.server_agent import NO_TOOLS, Message, Reply, ToolOffer
from .brains import Brain, ChatCompletionsBrain, brain_from_env
from .capacity import SpeechSeats, capacity_from_env
from .chat_stream import chat_deltas
from .engines import Recognizer, Synthesizer
from .live import LiveHearing
from .models import (MODELS, LoadFailure, ModelCache, ModelSource, load_failure, load_piper, load_whisper, piper_source,
                     whisper_source)
from .sentences import SentenceBuffer

log = logging.getLogger(__name__)
LIVE_ENV = 'VOICE_UI_SPEECH_LIVE'  # '0': no captions while the user speaks (interim decodes cost spare CPU)
WINDOW_ENV = 'VOICE_UI_WHISPER_WINDOW'  # 'short': ~4x less CPU per turn, a little less accurate on clipped speech


class SpeechUnavailable(RuntimeError):
    """A speech model failed to load; the message says which, why and what to do."""


class SpeechAgent:
    """Implements `voice_ui.local_realtime.server_agent.Agent`.

    Models load once per process on first use (or in `load`/`warm_up`), in a worker thread; recognition and
    synthesis also run in worker threads, so sessions keep streaming while the CPU decodes. A model that fails to
    load is not retried: its problem stays in `problems` (and `description`) and every turn says so.
    """

    listens = True  # the server picks its neural voice activity detector for agents that really hear

    def __init__(self, brain: Brain | None = None, whisper: ModelSource | None = None,
                 piper: ModelSource | None = None, models: ModelCache = MODELS,
                 environ: Mapping[str, str] | None = None) -> None:
        self.brain = brain or brain_from_env(environ)
        self.whisper_source = whisper or whisper_source(environ)
        self.piper_source = piper or piper_source(environ)
        self._models = models
        self._environ = environ
        self.problems: dict[str, LoadFailure] = {}  # 'whisper'/'piper' -> why it could not load
        self.hearing = LiveHearing()
        env = os.environ if environ is None else environ
        self.live = env.get(LIVE_ENV, '1').strip() != '0'
        window = env.get(WINDOW_ENV, '').strip().lower() or 'full'
        if window not in ('full', 'short'):
            raise ValueError(f"{WINDOW_ENV} must be 'full' or 'short', not {window[:40]!r}")
        self.short_window = window == 'short'
        self.seats = SpeechSeats(capacity_from_env(environ))

    @property
    def description(self) -> str:
        """One line for the page header and the start-up line; it never advertises a model that failed."""
        if self.problems:
            return 'offline speech unavailable: ' + '; '.join(problem.summary for problem in self.problems.values())
        return (f'offline speech: whisper {self.whisper_source.label}, piper {self.piper_source.label}, '
                f'replies: {self.brain.description}')

    def load(self) -> list[str]:
        """Load both models now (blocking: call it before serving, or through `warm_up`); returns the problems."""
        for kind in ('whisper', 'piper'):
            try:
                self._model(kind)
            except SpeechUnavailable:
                pass  # recorded in self.problems, logged once
        return [problem.detail for problem in self.problems.values()]

    async def warm_up(self) -> None:
        """Load both models off the event loop (e.g. at server start) instead of on the first turn."""
        await asyncio.to_thread(self.load)

    async def transcribe(self, audio: bytes, language: str | None, prompt: str | None) -> str:
        recognizer = await self.recognizer()  # SpeechUnavailable -> the engine's `transcription.failed` says why
        return await asyncio.to_thread(recognizer.transcribe, audio, language, prompt)

    async def load_problem(self) -> str | None:
        """Why the models cannot load (for a GA `error` at session start), or None when both are ready."""
        await self.warm_up()
        return '; '.join(problem.detail for problem in self.problems.values()) or None

    async def hear(self, item_id: str, pcm: bytes, language: str | None, prompt: str | None) -> AsyncIterator[str]:
        """Audio of the user item `item_id` as it arrives; yields each caption as soon as it is known (live.py):
        words two decodes of the turn so far agree on, and the whole turn's words at a pause."""
        heard = self.hearing.item(item_id)
        heard.feed(pcm)
        if heard.lock.locked() or 'whisper' in self.problems or heard.next_span(self.live) is None:
            return  # the decode in flight catches up with this audio when it is done; or nothing is due
        async with heard.lock:
            recognizer = await self.recognizer()
            while (span := heard.next_span(self.live and not recognizer.busy)) is not None:
                heard.decoded_to = span.end
                audio = bytes(heard.audio[span.start:span.end])
                if span.settled:  # the turn up to a pause: likely its transcript, so decoded for sure
                    self.hearing.counts.pauses += 1
                    text = await asyncio.to_thread(recognizer.transcribe, audio, language, prompt, short=True)
                else:
                    self.hearing.counts.interim += 1
                    text = await asyncio.to_thread(recognizer.interim, audio, language, prompt)
                caption = heard.decoded(span, text) if text is not None else ''
                if caption.strip():
                    yield caption

    async def transcribe_item(self, item_id: str, audio: bytes, language: str | None, prompt: str | None) -> str:
        """The committed item's transcript: the decode of its latest pause when the turn's speech ended there,
        else the whole turn decoded now."""
        heard = self.hearing.item(item_id)
        async with heard.lock:  # a decode in flight finishes first: it is likely the answer
            self.hearing.pop(item_id)
            settled = heard.settled_transcript(audio)
            if settled is not None:
                self.hearing.counts.commits_ready += 1
                return settled
            self.hearing.counts.commits_decoded += 1
            return await self.transcribe(audio, language, prompt)

    async def respond_stream(self, history: list[Message], audio: bytes, instructions: str | None = None,
                             tools: ToolOffer = NO_TOOLS) -> AsyncIterator[Reply]:
        """The reply piece by piece: each sentence (or leading clause) is spoken as soon as it is written, so the
        first is heard while the rest is still being written and synthesised. The last piece has the tool calls."""
        sentences, calls, said = SentenceBuffer(), (), False
        try:
            async for written in self.thoughts(history, instructions, tools, bool(audio)):
                if isinstance(written, Reply):
                    calls += written.tool_calls
                    written = written.text
                for text in sentences.add(written):
                    said = True
                    yield await self.spoken(text)
        except Exception as exc:  # a spoken apology beats a silent failed turn in a voice UI
            log.warning('reply brain failed: %s', exc)
            if said:
                raise
            sentences = SentenceBuffer()
            sentences.add('Sorry, I could not reach my language model.')
        rest = [text for text in sentences.flush() if text.strip()]
        for index, text in enumerate(rest):
            piece = await self.spoken(text)
            yield Reply(piece.text, piece.audio, calls if index == len(rest) - 1 else (), piece.word_ends_ms)
        if not rest:
            yield Reply('', b'', calls)

    async def thoughts(self, history, instructions, tools, audio_heard: bool) -> AsyncIterator[str | Reply]:
        """What the brain writes, as it writes it (a chat endpoint streams; other brains answer whole)."""
        if audio_heard and 'whisper' in self.problems:  # nothing can hear: say that, not "Sorry"
            yield Reply(f'I cannot hear you: {self.problems["whisper"].detail}')
            return
        if isinstance(self.brain, ChatCompletionsBrain):
            async for written in chat_deltas(self.brain, history, instructions, tools):
                yield written
            return
        answer = await self.brain.reply(history, instructions, tools)
        yield Reply(answer) if isinstance(answer, str) else answer

    async def spoken(self, text: str) -> Reply:
        try:
            speech, word_ends = await self.speak_timed(text.strip())
        except SpeechUnavailable:  # the transcript still reaches the page; the session's `error` said why
            return Reply(text)
        return Reply(text, speech, (), word_ends)

    async def respond(self, history: list[Message], audio: bytes, instructions: str | None = None,
                      tools: ToolOffer = NO_TOOLS) -> Reply:
        if audio and 'whisper' in self.problems:  # nothing was heard because nothing can hear: say that, not "Sorry"
            thought = Reply(f'I cannot hear you: {self.problems["whisper"].detail}')
        else:
            try:
                answer = await self.brain.reply(history, instructions, tools)
                thought = Reply(answer) if isinstance(answer, str) else answer
            except Exception as exc:  # a spoken apology beats a silent failed turn in a voice UI
                log.warning('reply brain failed: %s', exc)
                thought = Reply('Sorry, I could not reach my language model.')
        try:
            audio, word_ends = await self.speak_timed(thought.text)
        except SpeechUnavailable as exc:  # the transcript (and any tool calls) still reach the page
            return Reply(f'{thought.text} (No voice: {exc})', b'', thought.tool_calls)
        return Reply(thought.text, audio, thought.tool_calls, word_ends)

    async def speak(self, text: str) -> bytes:
        """24 kHz PCM16 speech for `text`."""
        return (await self.speak_timed(text))[0]

    async def speak_timed(self, text: str) -> tuple[bytes, tuple[int, ...] | None]:
        """The speech and when each word ends in it (ms), for truncating to what was heard."""
        synthesizer = await self.synthesizer()
        return await asyncio.to_thread(synthesizer.synthesize_timed, text)

    async def recognizer(self) -> Recognizer:
        return await asyncio.to_thread(self._model, 'whisper')

    async def synthesizer(self) -> Synthesizer:
        return await asyncio.to_thread(self._model, 'piper')

    def _model(self, kind: str) -> Recognizer | Synthesizer:
        if kind in self.problems:
            raise SpeechUnavailable(self.problems[kind].detail)
        source = self.whisper_source if kind == 'whisper' else self.piper_source
        try:
            if kind == 'whisper':
                return self._models.get(kind, source, lambda s: Recognizer(load_whisper(s), self.short_window))
            return self._models.get(kind, source, lambda s: Synthesizer(load_piper(s, self._environ)))
        except Exception as exc:  # a missing file, an offline hub, a broken model: all end the same way
            self.problems[kind] = load_failure(kind, source, exc)
            log.error('%s', self.problems[kind].detail)
            raise SpeechUnavailable(self.problems[kind].detail) from exc
