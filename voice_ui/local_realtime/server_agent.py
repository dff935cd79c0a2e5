"""What stands behind the embedded server: something that hears, thinks and speaks.

The engine asks an `Agent` for a transcript of each committed user turn and for a reply; it then streams both
as Realtime deltas. A reply may speak, call the session's function tools, or both, as a GA model does.
Implementations may be slow (speech models): they run off the event loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..protocol import SAMPLE_RATE

SPEECH_EXTRA_HINT = 'pip install -e ".[speech]"'


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str    # JSON text, as the model produced it
    call_id: str = ''  # empty: the engine assigns one


@dataclass(frozen=True)
class Message:
    """One turn of the agent's (text) history."""
    role: str  # 'user', 'assistant', 'system', or 'tool' (a function's output)
    text: str
    tool_calls: tuple[ToolCall, ...] = ()  # assistant: the functions it called
    call_id: str | None = None             # tool: the call this output answers


@dataclass(frozen=True)
class ToolOffer:
    """The function tools a response may use and how (`tool_choice`), already resolved by the engine."""
    tools: tuple[dict, ...] = ()  # GA function tools: {'type': 'function', 'name', 'description', 'parameters'}
    choice: str = 'auto'          # 'auto' (may call), 'required' (must call one), 'function' (must call `name`)
    name: str | None = None

    @property
    def must_call(self) -> bool:
        return bool(self.tools) and self.choice in ('required', 'function')

    def names(self) -> set[str]:
        return {tool.get('name') for tool in self.tools}


NO_TOOLS = ToolOffer()


@dataclass(frozen=True)
class Reply:
    text: str                              # what the agent says: becomes the output transcript (or text)
    audio: bytes = b''                     # 24 kHz PCM16 mono (little-endian) speech
    tool_calls: tuple[ToolCall, ...] = ()  # functions to call; the client runs them and sends their output
    word_ends_ms: tuple[int, ...] | None = None  # when each word of `text` ends in `audio`, if the agent knows


class Agent(Protocol):
    description: str  # one line for people, e.g. shown on the page

    async def transcribe(self, audio: bytes, language: str | None, prompt: str | None) -> str:
        """Committed user audio (24 kHz PCM16) to text. Raise to make the engine emit `...transcription.failed`."""

    async def respond(self, history: list[Message], audio: bytes, instructions: str | None = None,
                      tools: ToolOffer = NO_TOOLS) -> Reply:
        """The reply to the conversation; `history` ends with the latest turn (a user turn or a tool output),
        `audio` is the latest user turn's sound (empty for text); `instructions` are the session's, `tools`
        what may (or must) be called."""


class EchoAgent:
    """The numpy-free honest default: no recognizer, no synthesizer, so it plays the person's voice back.

    It cannot decide anything, so it calls a tool only when `tool_choice` forces one (with `{}` arguments)."""

    description = f'echo agent: no speech models installed ({SPEECH_EXTRA_HINT} for real speech)'

    async def transcribe(self, audio: bytes, language: str | None, prompt: str | None) -> str:
        seconds = len(audio) / (2 * SAMPLE_RATE)
        return f'[{seconds:.1f} s of audio; no speech recognizer installed]'

    async def respond(self, history: list[Message], audio: bytes, instructions: str | None = None,
                      tools: ToolOffer = NO_TOOLS) -> Reply:
        if tools.must_call:
            return Reply('', b'', (ToolCall(tools.name or tools.tools[0]['name'], '{}'),))
        if history and history[-1].role == 'tool':
            return Reply(f'The tool answered: {history[-1].text}', b'')
        if not audio:
            said = history[-1].text if history else ''
            return Reply(f'I have no voice installed, but I read: {said}', b'')
        return Reply('I cannot understand speech without the speech extra, so here is what you said, played back.',
                     audio)


class Thinker(Protocol):
    """A brain (voice_ui.speech.brains): decides what to say or call, from the text history."""
    description: str

    async def reply(self, history: list[Message], instructions: str | None = None,
                    tools: ToolOffer = NO_TOOLS) -> Reply | str: ...


class BrainAgent(EchoAgent):
    """A brain without ears or a voice (no speech extra needed): text in, the brain's reply and calls out.

    Audio turns get the echo's placeholder transcript; replies carry no audio, only their transcript."""

    def __init__(self, brain: Thinker) -> None:
        self.brain = brain
        self.description = f'text agent, replies: {brain.description}'

    async def respond(self, history: list[Message], audio: bytes, instructions: str | None = None,
                      tools: ToolOffer = NO_TOOLS) -> Reply:
        answer = await self.brain.reply(history, instructions, tools)
        return Reply(answer) if isinstance(answer, str) else answer
