"""The served embedded server with a chat-model brain: the session's tools reach the chat endpoint, the model's
streamed tool_calls come back to the Realtime client as function_call items, and its output continues."""
from __future__ import annotations

import pytest

from tests.speech.chat_peer import CALL_ARGUMENTS, running_chat_peer
from voice_ui.local_realtime.server_agent import BrainAgent
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.speech.brains import ChatCompletionsBrain

from .serving import API_KEY, open_session, serve

LIGHTS_TOOL = {'type': 'function', 'name': 'set_lights', 'description': 'Switch the lights of a room.',
               'parameters': {'type': 'object', 'properties': {'room': {'type': 'string'}}}}


@pytest.fixture(scope='module')
def served_with_chat():
    with running_chat_peer() as peer:
        agent = BrainAgent(ChatCompletionsBrain(peer.url, 'llama3.2'))
        config = LocalRealtimeConfig(api_keys={API_KEY}, agent=agent, engine=EngineOptions(pacing=Pacing.BURST))
        with serve(config) as served:
            yield served.url, peer


async def test_a_chat_model_calls_a_session_tool_through_the_realtime_protocol(served_with_chat):
    url, peer = served_with_chat
    client = await open_session(url, {'type': 'realtime', 'output_modalities': ['text'], 'tools': [LIGHTS_TOOL],
                                      'audio': {'input': {'turn_detection': None}}})
    await client.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'Kitchen lights on.'}]}})
    await client.send({'type': 'response.create'})
    events = await client.until('response.done')
    [call] = events[-1]['response']['output']
    assert (call['type'], call['name'], call['call_id'], call['arguments']) == \
        ('function_call', 'set_lights', 'call_peer1', CALL_ARGUMENTS)
    assert peer.requests[-1]['body']['tools'][0]['function']['name'] == 'set_lights'
    await client.send({'type': 'conversation.item.create', 'item': {
        'type': 'function_call_output', 'call_id': 'call_peer1', 'output': 'lights on'}})
    await client.send({'type': 'response.create'})
    events = await client.until('response.done')
    assert events[-1]['response']['output'][0]['content'][0]['text'] == 'Done: lights on'
    assert peer.requests[-1]['body']['messages'][-1] == {'role': 'tool', 'tool_call_id': 'call_peer1',
                                                         'content': 'lights on'}
    await client.connection.close()
