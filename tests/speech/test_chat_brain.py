"""The pluggable reply brain against a real (local, fake) OpenAI-compatible chat completions server."""
from __future__ import annotations

import httpx
import pytest

from voice_ui.config import DEFAULT_INSTRUCTIONS
from voice_ui.local_realtime.server_agent import Message, Reply
from voice_ui.speech.brains import ChatCompletionsBrain, ChatError, EchoBrain, brain_from_env
from voice_ui.speech.wer import word_error_rate

from .chat_peer import ANSWER, CALL_ARGUMENTS, running_chat_peer
from .test_speech_models import MAX_WER, ROUND_TRIP_MAX_WER, assert_plausible_speech

HISTORY = [Message('user', 'hello'), Message('assistant', 'You said: hello'),
           Message('user', 'please turn on the kitchen lights')]


@pytest.fixture(scope='module')
def _chat_server():
    with running_chat_peer() as peer:
        yield peer


@pytest.fixture
def chat_peer(_chat_server):
    _chat_server.behaviour = 'ok'
    _chat_server.requests.clear()
    return _chat_server


def env_for(peer, **extra) -> dict[str, str]:
    return {'VOICE_UI_AGENT_CHAT_URL': peer.url, 'VOICE_UI_AGENT_CHAT_MODEL': 'llama3.2', **extra}


async def test_chat_brain_sends_the_conversation_and_returns_the_answer(chat_peer):
    brain = brain_from_env(env_for(chat_peer, VOICE_UI_AGENT_CHAT_KEY='sk-local',
                                   VOICE_UI_INSTRUCTIONS='Be brief.'))
    assert isinstance(brain, ChatCompletionsBrain)
    assert await brain.reply(HISTORY) == Reply(ANSWER)
    [request] = chat_peer.requests
    assert request['authorization'] == 'Bearer sk-local'
    assert request['body'] == {'model': 'llama3.2', 'stream': True, 'messages': [
        {'role': 'system', 'content': 'Be brief.'},
        {'role': 'user', 'content': 'hello'},
        {'role': 'assistant', 'content': 'You said: hello'},
        {'role': 'user', 'content': 'please turn on the kitchen lights'}]}


async def test_session_instructions_override_and_no_key_means_no_header(chat_peer):
    brain = brain_from_env(env_for(chat_peer))
    await brain.reply(HISTORY, instructions='Answer like a pirate.')
    await brain.reply(HISTORY)
    first, second = chat_peer.requests
    assert first['authorization'] is None
    assert first['body']['messages'][0] == {'role': 'system', 'content': 'Answer like a pirate.'}
    assert second['body']['messages'][0] == {'role': 'system', 'content': DEFAULT_INSTRUCTIONS}


@pytest.mark.parametrize(('behaviour', 'message'), [('error', 'HTTP 500'), ('garbage', 'unexpected body'),
                                                    ('endless', 'more than 1048576 bytes')])
async def test_chat_failures_raise_a_clear_error(chat_peer, behaviour, message):
    chat_peer.behaviour = behaviour
    with pytest.raises(ChatError, match=message):
        await brain_from_env(env_for(chat_peer)).reply(HISTORY)


async def test_unreachable_endpoint_raises():
    brain = ChatCompletionsBrain('http://127.0.0.1:9/v1', 'any', timeout_s=2)
    with pytest.raises(httpx.TransportError):  # the connection itself fails: no HTTP answer to interpret
        await brain.reply(HISTORY)


def test_configuration():
    assert isinstance(brain_from_env({}), EchoBrain)
    with pytest.raises(ValueError, match='VOICE_UI_AGENT_CHAT_MODEL'):
        brain_from_env({'VOICE_UI_AGENT_CHAT_URL': 'http://localhost:11434/v1'})
    brain = brain_from_env({'VOICE_UI_AGENT_CHAT_URL': 'http://localhost:11434/v1/', 'VOICE_UI_AGENT_CHAT_MODEL': 'm'})
    assert brain.base_url == 'http://localhost:11434/v1'
    assert brain.description == 'chat model m at http://localhost:11434/v1'


async def test_speech_agent_speaks_the_chat_answer(speech_ready, chat_peer, utterances):
    from voice_ui.speech.agent import SpeechAgent
    agent = SpeechAgent(brain=brain_from_env(env_for(chat_peer)))
    assert 'chat model llama3.2' in agent.description
    lights = next(u for u in utterances if u.name == 'lights')
    heard = await agent.transcribe(lights.pcm24, 'en', None)
    reply = await agent.respond([Message('user', heard)], lights.pcm24)
    assert word_error_rate(lights.text, chat_peer.requests[-1]['body']['messages'][-1]['content']) <= MAX_WER
    assert reply.text == ANSWER
    assert_plausible_speech(reply.audio, reply.text)
    assert word_error_rate(reply.text, await agent.transcribe(reply.audio, 'en', None)) <= ROUND_TRIP_MAX_WER


async def test_speech_agent_apologises_aloud_when_the_chat_model_fails(speech_ready, chat_peer):
    from voice_ui.speech.agent import SpeechAgent
    chat_peer.behaviour = 'error'
    reply = await SpeechAgent(brain=brain_from_env(env_for(chat_peer))).respond(HISTORY, b'')
    assert reply.text.startswith('Sorry, I could not reach')
    assert_plausible_speech(reply.audio, reply.text)


LIGHTS_TOOL = {'type': 'function', 'name': 'set_lights', 'description': 'Switch the lights of a room.',
               'parameters': {'type': 'object', 'properties': {'room': {'type': 'string'}, 'on': {'type': 'boolean'}}}}


@pytest.mark.parametrize('behaviour', ['ok', 'json'])
async def test_the_chat_brain_offers_the_tools_and_maps_the_models_tool_calls(chat_peer, behaviour):
    from voice_ui.local_realtime.server_agent import ToolCall, ToolOffer
    chat_peer.behaviour = behaviour  # streamed chunks, or one JSON body from an endpoint that ignores `stream`
    brain = brain_from_env(env_for(chat_peer))
    reply = await brain.reply(HISTORY, tools=ToolOffer((LIGHTS_TOOL,), 'required'))
    assert reply.text == '' and reply.tool_calls == (ToolCall('set_lights', CALL_ARGUMENTS, 'call_peer1'),)
    body = chat_peer.requests[-1]['body']
    assert body['tools'] == [{'type': 'function', 'function': {
        'name': 'set_lights', 'description': 'Switch the lights of a room.', 'parameters': LIGHTS_TOOL['parameters']}}]
    assert body['tool_choice'] == 'required'

    # the call and its output go back as the chat API expects them; the model answers from the output
    history = [*HISTORY, Message('assistant', '', reply.tool_calls),
               Message('tool', '{"ok": true}', call_id='call_peer1')]
    answer = await brain.reply(history, tools=ToolOffer((LIGHTS_TOOL,), 'function', 'set_lights'))
    assert answer == Reply('Done: {"ok": true}')
    body = chat_peer.requests[-1]['body']
    assert body['messages'][-2:] == [
        {'role': 'assistant', 'content': None, 'tool_calls': [{'id': 'call_peer1', 'type': 'function', 'function': {
            'name': 'set_lights', 'arguments': CALL_ARGUMENTS}}]},
        {'role': 'tool', 'tool_call_id': 'call_peer1', 'content': '{"ok": true}'}]
    assert body['tool_choice'] == {'type': 'function', 'function': {'name': 'set_lights'}}


async def test_no_tools_offered_means_none_sent(chat_peer):
    from voice_ui.local_realtime.server_agent import NO_TOOLS
    await brain_from_env(env_for(chat_peer)).reply(HISTORY, tools=NO_TOOLS)
    assert 'tools' not in chat_peer.requests[-1]['body'] and 'tool_choice' not in chat_peer.requests[-1]['body']
