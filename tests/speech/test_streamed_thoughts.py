"""The SpeechAgent speaks a chat model's reply sentence by sentence as the model writes it (a real streaming HTTP
peer; the synthesizer is a stand-in, so no speech models are needed)."""
from __future__ import annotations

import asyncio

import pytest

from voice_ui.local_realtime.server_agent import Message, ToolOffer
from voice_ui.speech.agent import SpeechAgent
from voice_ui.speech.brains import ChatCompletionsBrain
from voice_ui.speech.models import ModelCache

from .chat_peer import ANSWER, CALL_ARGUMENTS, running_chat_peer

LIGHTS = ToolOffer(({'type': 'function', 'name': 'set_lights', 'parameters': {'type': 'object'}},))


class TextSynthesizer:
    def __init__(self) -> None:
        self.spoken: list[str] = []

    def synthesize_timed(self, text: str):
        self.spoken.append(text)
        return text.encode() * 48, None


@pytest.fixture
def peer():
    with running_chat_peer() as running:
        yield running


def agent_for(peer) -> tuple[SpeechAgent, TextSynthesizer]:
    agent = SpeechAgent(brain=ChatCompletionsBrain(peer.url, 'test-model'), models=ModelCache(), environ={})
    synthesizer = TextSynthesizer()
    agent._models._models[('piper', agent.piper_source.value)] = synthesizer
    return agent, synthesizer


async def test_the_first_sentence_is_spoken_while_the_model_still_writes(peer):
    peer.behaviour = 'slow'
    agent, synthesizer = agent_for(peer)
    pieces = agent.respond_stream([Message('user', 'hi')], b'')
    first = await asyncio.wait_for(pieces.__anext__(), 10)
    assert first.text == 'Hello there.' and first.audio and synthesizer.spoken == ['Hello there.']
    assert not peer.go_on.is_set()  # the model has not finished writing
    peer.go_on.set()
    rest = [piece async for piece in pieces]
    assert ''.join(piece.text for piece in [first, *rest]) == 'Hello there. How are you?'
    assert synthesizer.spoken == ['Hello there.', 'How are you?']


async def test_streamed_tool_calls_come_with_the_last_piece(peer):
    agent, _ = agent_for(peer)
    pieces = [piece async for piece in agent.respond_stream([Message('user', 'lights on')], b'', None, LIGHTS)]
    assert [call.arguments for call in pieces[-1].tool_calls] == [CALL_ARGUMENTS]
    assert all(not piece.tool_calls for piece in pieces[:-1])


@pytest.mark.parametrize('behaviour', ['ok', 'json'])
async def test_a_plain_answer_is_spoken_whole(peer, behaviour):
    peer.behaviour = behaviour
    agent, synthesizer = agent_for(peer)
    pieces = [piece async for piece in agent.respond_stream([Message('user', 'lights on')], b'')]
    assert ''.join(piece.text for piece in pieces) == ANSWER


@pytest.mark.parametrize('behaviour', ['error', 'garbage', 'endless'])
async def test_a_failing_model_gets_a_spoken_apology(peer, behaviour):
    peer.behaviour = behaviour
    agent, synthesizer = agent_for(peer)
    pieces = [piece async for piece in agent.respond_stream([Message('user', 'hi')], b'')]
    assert 'could not reach my language model' in ''.join(piece.text for piece in pieces)
