"""What stands behind the embedded server: something that hears, thinks and speaks.

The engine asks an `Agent` for a transcript of each committed user turn and for a spoken reply; it then
streams both as Realtime deltas. Implementations may be slow (speech models): they run off the event loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..protocol import SAMPLE_RATE

SPEECH_EXTRA_HINT = 'pip install -e ".[speech]"'


@dataclass(frozen=True)
class Message:
    role: str  # 'user' or 'assistant'
    text: str


@dataclass(frozen=True)
class Reply:
    text: str    # what the agent says: becomes the output audio transcript
    audio: bytes  # 24 kHz PCM16 mono (little-endian) speech


class Agent(Protocol):
    description: str  # one line for people, e.g. shown on the page

    async def transcribe(self, audio: bytes, language: str | None, prompt: str | None) -> str:
        """Committed user audio (24 kHz PCM16) to text. Raise to make the engine emit `...transcription.failed`."""

    async def respond(self, history: list[Message], audio: bytes, instructions: str | None = None) -> Reply:
        """The reply to the latest user turn; `history` ends with it, `audio` is its sound (empty for text);
        `instructions` are the session's, for agents that think (a chat model)."""


class EchoAgent:
    """The numpy-free honest default: no recognizer, no synthesizer, so it plays the person's voice back."""

    description = f'echo agent: no speech models installed ({SPEECH_EXTRA_HINT} for real speech)'

    async def transcribe(self, audio: bytes, language: str | None, prompt: str | None) -> str:
        seconds = len(audio) / (2 * SAMPLE_RATE)
        return f'[{seconds:.1f} s of audio; no speech recognizer installed]'

    async def respond(self, history: list[Message], audio: bytes, instructions: str | None = None) -> Reply:
        if not audio:
            said = history[-1].text if history else ''
            return Reply(f'I have no voice installed, but I read: {said}', b'')
        return Reply('I cannot understand speech without the speech extra, so here is what you said, played back.',
                     audio)
