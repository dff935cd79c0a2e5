"""The embedded server's real voice: faster-whisper hears, a brain decides, piper speaks."""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping

from ..local_realtime.server_agent import NO_TOOLS, Message, Reply, ToolOffer
from .brains import Brain, ChatCompletionsBrain, brain_from_env
from .chat_stream import chat_deltas
from .engines import Recognizer, Synthesizer
from .capacity import SpeechSeats, capacity_from_env
from .live import LiveHearing, has_speech
from .models import MODELS, ModelCache, ModelSource, load_piper, load_whisper, piper_source, whisper_source
from .sentences import SentenceBuffer

log = logging.getLogger(__name__)
LIVE_ENV = 'VOICE_UI_SPEECH_LIVE'  # '0': decode each turn whole at commit (one decode per turn, least CPU)


class SpeechAgent:
    """Implements `voice_ui.local_realtime.server_agent.Agent`.

    Models load once per process on first use (or in `warm_up`), in a worker thread; recognition and
    synthesis also run in worker threads, so sessions keep streaming while the CPU decodes.
    """

    def __init__(self, brain: Brain | None = None, whisper: ModelSource | None = None,
                 piper: ModelSource | None = None, models: ModelCache = MODELS,
                 environ: Mapping[str, str] | None = None) -> None:
        self.brain = brain or brain_from_env(environ)
        self.whisper_source = whisper or whisper_source(environ)
        self.piper_source = piper or piper_source(environ)
        self._models = models
        self._environ = environ
        self.hearing = LiveHearing()
        self.live = (os.environ if environ is None else environ).get(LIVE_ENV, '1').strip() != '0'
        self.seats = SpeechSeats(capacity_from_env(environ))
        self.description = (f'offline speech: whisper {self.whisper_source.label}, '
                            f'piper {self.piper_source.label}, replies: {self.brain.description}')

    async def warm_up(self) -> None:
        """Load both models now (e.g. at server start) instead of on the first turn."""
        await asyncio.gather(self.recognizer(), self.synthesizer())

    async def transcribe(self, audio: bytes, language: str | None, prompt: str | None) -> str:
        recognizer = await self.recognizer()
        return await asyncio.to_thread(recognizer.transcribe, audio, language, prompt)

    async def load_problem(self) -> str | None:
        """Why the models cannot load (for a GA `error` at session start), or None when both are ready."""
        problems = []
        for kind, load in (('speech recognizer', self.recognizer), ('voice', self.synthesizer)):
            try:
                await load()
            except Exception as exc:
                problems.append(f'the {kind} could not be loaded: {exc}')
        return '; '.join(problems) or None

    async def hear(self, item_id: str, pcm: bytes, language: str | None, prompt: str | None) -> list[str]:
        """Audio of the user item `item_id` as it arrives; returns the text of each piece that a pause closed
        (in order), decoded now rather than at commit."""
        if not self.live:
            return []
        heard = self.hearing.item(item_id)
        heard.feed(pcm)
        if not heard.pending:
            return []
        recognizer = await self.recognizer()
        texts = []
        async with heard.lock:  # pieces decode one after another, in order
            while heard.pending:
                piece = heard.pending.pop(0)
                piece.text = await asyncio.to_thread(recognizer.transcribe, bytes(heard.audio[piece.start:piece.end]),
                                                     language, heard.prompt(prompt))
                heard.decoded.append(piece)
                if piece.text:
                    texts.append(piece.text)
        return texts

    async def transcribe_item(self, item_id: str, audio: bytes, language: str | None, prompt: str | None) -> str:
        """The committed item's transcript: the pieces already decoded while it was heard, plus the rest."""
        heard = self.hearing.item(item_id)
        async with heard.lock:
            self.hearing.pop(item_id)
            match = heard.reusable(audio)
            if match is None:
                return await self.transcribe(audio, language, prompt)
            pieces, begin = match
            head, tail = audio[:max(0, pieces[0].start - begin)], audio[pieces[-1].end - begin:]
            if has_speech(head):  # speech before the first reused piece: decode the turn whole
                return await self.transcribe(audio, language, prompt)
            texts = [piece.text for piece in pieces]
            if has_speech(tail):
                recognizer = await self.recognizer()
                texts.append(await asyncio.to_thread(recognizer.transcribe, tail, language, heard.prompt(prompt)))
            return ' '.join(text for text in texts if text).strip()

    async def respond_stream(self, history: list[Message], audio: bytes, instructions: str | None = None,
                             tools: ToolOffer = NO_TOOLS) -> AsyncIterator[Reply]:
        """The reply piece by piece: each sentence (or leading clause) is spoken as soon as it is written, so the
        first is heard while the rest is still being written and synthesised. The last piece has the tool calls."""
        sentences, calls, said = SentenceBuffer(), (), False
        try:
            async for written in self.thoughts(history, instructions, tools):
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

    async def thoughts(self, history, instructions, tools) -> AsyncIterator[str | Reply]:
        """What the brain writes, as it writes it (a chat endpoint streams; other brains answer whole)."""
        if isinstance(self.brain, ChatCompletionsBrain):
            async for written in chat_deltas(self.brain, history, instructions, tools):
                yield written
            return
        answer = await self.brain.reply(history, instructions, tools)
        yield Reply(answer) if isinstance(answer, str) else answer

    async def spoken(self, text: str) -> Reply:
        speech, word_ends = await self.speak_timed(text.strip())
        return Reply(text, speech, (), word_ends)

    async def respond(self, history: list[Message], audio: bytes, instructions: str | None = None,
                      tools: ToolOffer = NO_TOOLS) -> Reply:
        try:
            answer = await self.brain.reply(history, instructions, tools)
            thought = Reply(answer) if isinstance(answer, str) else answer
        except Exception as exc:  # a spoken apology beats a silent failed turn in a voice UI
            log.warning('reply brain failed: %s', exc)
            thought = Reply('Sorry, I could not reach my language model.')
        audio, word_ends = await self.speak_timed(thought.text)
        return Reply(thought.text, audio, thought.tool_calls, word_ends)

    async def speak(self, text: str) -> bytes:
        """24 kHz PCM16 speech for `text`."""
        return (await self.speak_timed(text))[0]

    async def speak_timed(self, text: str) -> tuple[bytes, tuple[int, ...] | None]:
        """The speech and when each word ends in it (ms), for truncating to what was heard."""
        synthesizer = await self.synthesizer()
        return await asyncio.to_thread(synthesizer.synthesize_timed, text)

    async def recognizer(self) -> Recognizer:
        return await self._models.get_async('whisper', self.whisper_source,
                                            lambda source: Recognizer(load_whisper(source)))

    async def synthesizer(self) -> Synthesizer:
        return await self._models.get_async('piper', self.piper_source,
                                            lambda source: Synthesizer(load_piper(source, self._environ)))
