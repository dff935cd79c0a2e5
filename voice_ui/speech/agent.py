"""The embedded server's real voice: faster-whisper hears, a brain decides, piper speaks."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from ..local_realtime.server_agent import NO_TOOLS, Message, Reply, ToolOffer
from .brains import Brain, brain_from_env
from .engines import Recognizer, Synthesizer
from .models import MODELS, ModelCache, ModelSource, load_piper, load_whisper, piper_source, whisper_source

log = logging.getLogger(__name__)


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
        self.description = (f'offline speech: whisper {self.whisper_source.label}, '
                            f'piper {self.piper_source.label}, replies: {self.brain.description}')

    async def warm_up(self) -> None:
        """Load both models now (e.g. at server start) instead of on the first turn."""
        await asyncio.gather(self.recognizer(), self.synthesizer())

    async def transcribe(self, audio: bytes, language: str | None, prompt: str | None) -> str:
        recognizer = await self.recognizer()
        return await asyncio.to_thread(recognizer.transcribe, audio, language, prompt)

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
