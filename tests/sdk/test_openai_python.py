"""openai-python's own Realtime client (`client.realtime.connect`) against the embedded server, as its users
run it: with the API key in the Authorization header, and with an ephemeral token minted through the SDK."""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
from openai import AsyncOpenAI

from tests.local_realtime.serving import API_KEY, pcm_of, serve, silence
from tests.protocol_validation import validate_server_event
from voice_ui.local_realtime.server_agent import BrainAgent
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.speech.scripted_brain import ScriptedBrain, after_tool, call_tool, when_heard

WEATHER_TOOL = {'type': 'function', 'name': 'get_weather', 'description': 'Current weather in a city.',
                'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}}


@pytest.fixture(scope='module')
def server_url():
    brain = ScriptedBrain(when_heard('weather', call_tool('get_weather', {'city': 'Paris'})),
                          after_tool(lambda name, output: f'Paris is {json.loads(output)["sky"]} today.'))
    config = LocalRealtimeConfig(api_keys={API_KEY}, agent=BrainAgent(brain), engine=EngineOptions(pacing=Pacing.BURST))
    with serve(config) as served:
        yield served.url


def client(base_url: str, key: str = API_KEY) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=key, base_url=base_url, websocket_base_url=base_url.replace('http', 'ws', 1))


async def next_event(connection, seen: list[dict]) -> dict:
    """The next server event, checked against the GA types strictly (the SDK itself is lenient)."""
    raw = json.loads(await asyncio.wait_for(connection.recv_bytes(), 60))
    validate_server_event(raw)
    seen.append(raw)
    return raw


async def until(connection, seen: list[dict], event_type: str) -> dict:
    while (event := await next_event(connection, seen))['type'] != event_type:
        assert event['type'] != 'error', event
    return event


async def test_a_function_tool_round_trip_with_the_api_key_header(server_url):
    seen: list[dict] = []
    async with client(server_url).realtime.connect(model='gpt-realtime') as connection:
        assert (await next_event(connection, seen))['type'] == 'session.created'
        await connection.session.update(session={'type': 'realtime', 'output_modalities': ['text'],
                                                 'tools': [WEATHER_TOOL], 'tool_choice': 'auto'})
        assert (await until(connection, seen, 'session.updated'))['session']['tools'] == [WEATHER_TOOL]
        await connection.conversation.item.create(item={
            'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'Weather in Paris?'}]})
        await connection.response.create()
        call = (await until(connection, seen, 'response.done'))['response']['output'][0]
        assert call['type'] == 'function_call' and call['name'] == 'get_weather'
        deltas = ''.join(e['delta'] for e in seen if e['type'] == 'response.function_call_arguments.delta')
        assert json.loads(deltas) == {'city': 'Paris'}

        await connection.conversation.item.create(item={'type': 'function_call_output', 'call_id': call['call_id'],
                                                        'output': json.dumps({'sky': 'sunny'})})
        added = await until(connection, seen, 'conversation.item.added')
        assert added['previous_item_id'] == call['id'] and added['item']['type'] == 'function_call_output'
        await connection.response.create()
        done = await until(connection, seen, 'response.done')
        assert done['response']['output'][0]['content'][0]['text'] == 'Paris is sunny today.'
        # the SDK's own parsing accepts what it received, too
        await connection.conversation.item.retrieve(item_id=call['id'])
        retrieved = await asyncio.wait_for(connection.recv(), 60)
        while retrieved.type == 'rate_limits.updated':
            retrieved = await asyncio.wait_for(connection.recv(), 60)
        assert retrieved.type == 'conversation.item.retrieved' and retrieved.item.type == 'function_call'


async def test_a_manual_audio_turn_with_an_ephemeral_token_minted_by_the_sdk(server_url):
    secret = await client(server_url).realtime.client_secrets.create(
        expires_after={'anchor': 'created_at', 'seconds': 60},
        session={'type': 'realtime', 'model': 'gpt-realtime', 'instructions': 'Be brief.',
                 'audio': {'input': {'turn_detection': None, 'transcription': {'model': 'whisper-1'}}}})
    assert secret.value.startswith('ek_')
    seen: list[dict] = []
    async with client(server_url, key=secret.value).realtime.connect(model='gpt-realtime') as connection:
        created = await next_event(connection, seen)
        assert created['type'] == 'session.created' and created['session']['instructions'] == 'Be brief.'
        pcm = pcm_of('weather') + silence(200)
        for start in range(0, len(pcm), 9600):
            await connection.input_audio_buffer.append(audio=base64.b64encode(pcm[start:start + 9600]).decode())
        await connection.input_audio_buffer.commit()
        committed = await until(connection, seen, 'input_audio_buffer.committed')
        await connection.response.create(response={'instructions': None, 'metadata': {'turn': '1'}})
        done = await until(connection, seen, 'response.done')
        assert done['response']['status'] == 'completed' and done['response']['metadata'] == {'turn': '1'}
        item = done['response']['output'][0]
        assert item['type'] == 'message' and item['content'][0]['type'] == 'output_audio'
        types = [e['type'] for e in seen]
        assert 'conversation.item.input_audio_transcription.completed' in types
        user_added = next(e for e in seen if e['type'] == 'conversation.item.added'
                          and e['item']['id'] == committed['item_id'])
        assert user_added['previous_item_id'] is None


async def test_a_bad_token_is_refused_as_the_sdk_expects(server_url):
    async with client(server_url, key='ek_not-a-token').realtime.connect(model='gpt-realtime') as connection:
        error = json.loads(await asyncio.wait_for(connection.recv_bytes(), 60))
        validate_server_event(error)
        assert error['error']['code'] == 'invalid_api_key'
