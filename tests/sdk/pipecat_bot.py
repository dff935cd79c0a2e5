"""A pipecat bot built the way pipecat's realtime examples build one, minus the network transport: the context
aggregator pair around `OpenAIRealtimeLLMService`, run by a `WorkerRunner`. Frames go in where a transport's input
would push them (`PipelineWorker.queue_frames`) and are kept where its output would play them (`said`); what the
service pushes back upstream (transcripts, errors) is kept on its way to the user aggregator (`heard`).

Only the tests import this module, and only when pipecat is installed (test_pipecat.py checks first).
"""
from __future__ import annotations

import asyncio

from pipecat.audio.utils import create_file_resampler
from pipecat.frames.frames import (EndFrame, ErrorFrame, Frame, InputAudioRawFrame, LLMFullResponseEndFrame,
                                   LLMTextFrame, StartFrame, TTSAudioRawFrame, TTSTextFrame)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService
from pipecat.workers.runner import WorkerRunner

from tests.support import TESTDATA, manifest, read_wav, until

INPUT_RATE = 16_000  # what pipecat's pipelines and transports carry by default (PipelineParams.audio_in_sample_rate)
FRAME_MS = 20        # a transport's input frame


class FrameLog(FrameProcessor):
    """Passes every frame on, keeping each with its direction."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.frames: list[tuple[Frame, FrameDirection]] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        self.frames.append((frame, direction))
        await self.push_frame(frame, direction)

    def of(self, kind: type, direction: FrameDirection | None = None) -> list:
        return [frame for frame, way in self.frames if isinstance(frame, kind) and direction in (None, way)]


class Reply:
    """One response as a transport's output would get it: its text (the spoken transcript, or the written text
    of a text-only session) and the 24 kHz audio."""

    def __init__(self, frames: list[Frame]) -> None:
        spoken = ''.join(frame.text for frame in frames if isinstance(frame, TTSTextFrame))
        self.text = spoken or ''.join(frame.text for frame in frames if isinstance(frame, LLMTextFrame))
        chunks = [frame for frame in frames if isinstance(frame, TTSAudioRawFrame)]
        self.audio = b''.join(frame.audio for frame in chunks)
        self.rates = {(frame.sample_rate, frame.num_channels) for frame in chunks}


class Bot:
    def __init__(self, llm: OpenAIRealtimeLLMService, context: LLMContext) -> None:
        self.llm, self.context = llm, context
        pair = LLMContextAggregatorPair(context)
        self.heard, self.said = FrameLog('heard'), FrameLog('said')
        self.worker = PipelineWorker(Pipeline([pair.user(), self.heard, llm, self.said, pair.assistant()]),
                                     enable_rtvi=False, idle_timeout_secs=None)
        self.runner = WorkerRunner(handle_sigint=False)

    async def __aenter__(self) -> Bot:
        await self.runner.add_workers(self.worker)
        self.running = asyncio.create_task(self.runner.run())
        await until(lambda: self.said.of(StartFrame) or self.running.done(), 30, 'the pipeline starting')
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.worker.queue_frame(EndFrame())
        try:
            await asyncio.wait_for(self.running, 30)
        finally:
            if not self.running.done():
                self.running.cancel()

    async def replies(self, count: int, timeout: float = 90) -> list[Reply]:
        """The first `count` responses, once that many have ended (an error frame from the service fails)."""
        def ended() -> bool:
            if errors := self.errors():
                raise AssertionError(f'pipecat reported {errors}')
            return len(self.said.of(LLMFullResponseEndFrame)) >= count
        await until(ended, timeout, f'{count} responses ending')
        replies, current = [], []
        for frame, _ in self.said.frames:
            current.append(frame)
            if isinstance(frame, LLMFullResponseEndFrame):
                replies.append(Reply(current))
                current = []
        return replies[:count]

    def errors(self) -> list[ErrorFrame]:
        return self.heard.of(ErrorFrame) + self.said.of(ErrorFrame)

    async def speak(self, pcm: bytes, speed: float = 4.0) -> None:
        """16 kHz PCM16 in transport-sized frames, `speed` times faster than real time (server turn detection
        goes by the audio, not the clock)."""
        step = INPUT_RATE * 2 * FRAME_MS // 1000
        for start in range(0, len(pcm), step):
            await self.worker.queue_frame(InputAudioRawFrame(pcm[start:start + step], INPUT_RATE, 1))
            await asyncio.sleep(FRAME_MS / 1000 / speed)


async def recording(name: str, trailing_silence_ms: int = 0) -> tuple[str, bytes]:
    """A test utterance's text and its microphone recording resampled to the pipeline's input rate by pipecat's
    own resampler, as a transport at 16 kHz would deliver it."""
    entry = manifest()[name]
    pcm48 = read_wav(TESTDATA / entry['mic_file'], 48_000)
    pcm = await create_file_resampler().resample(pcm48, 48_000, INPUT_RATE)
    return entry['text'], pcm + b'\0\0' * (INPUT_RATE * trailing_silence_ms // 1000)
