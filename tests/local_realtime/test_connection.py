"""Opening, authenticating and ending WebSocket sessions; session.update; protocol errors."""
from __future__ import annotations

import asyncio
import time

import pytest
import websockets

from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.protocol import BETA_SUBPROTOCOL, ServerEvent

from .serving import API_KEY, MANUAL_SESSION, RealtimeClient, connect, mint, open_session, pcm_of, serve


async def expect_rejection(connection, code: str, close_code: int) -> None:
    client = RealtimeClient(connection)
    error = await client.expect_error(code)
    assert error['event_id'] is None
    with pytest.raises(websockets.ConnectionClosed):
        await client.recv()
    assert connection.close_code == close_code


async def test_session_created_carries_the_minted_config_and_id(base_url):
    minted = mint(base_url, {**MANUAL_SESSION, 'instructions': 'Be brief.'}).json()
    connection = await connect(base_url, minted['value'])
    assert connection.subprotocol == 'realtime'  # never the token subprotocol
    created = await RealtimeClient(connection).recv()
    assert created['type'] == ServerEvent.SESSION_CREATED
    session = created['session']
    assert session['id'] == minted['session']['id']
    assert session['instructions'] == 'Be brief.' and session['audio']['input']['turn_detection'] is None
    await connection.close()


async def test_one_token_opens_several_sessions(base_url):
    token = mint(base_url).json()['value']
    first, second = await connect(base_url, token), await connect(base_url, token)
    ids = [(await RealtimeClient(c).recv())['session']['id'] for c in (first, second)]
    assert ids[0] != ids[1]
    await first.close()
    await second.close()


async def test_authorization_header_for_non_browser_clients(base_url):
    url = base_url.replace('http', 'ws', 1) + '/realtime?model=gpt-realtime'
    for secret in (mint(base_url).json()['value'], API_KEY):
        async with websockets.connect(url, additional_headers={'Authorization': f'Bearer {secret}'}) as connection:
            assert (await RealtimeClient(connection).recv())['type'] == ServerEvent.SESSION_CREATED


@pytest.mark.parametrize('token', ['ek_unknown', 'sk-wrong'])
async def test_unknown_token_gets_invalid_api_key_then_close_3000(base_url, token):
    await expect_rejection(await connect(base_url, token), 'invalid_api_key', 3000)


async def test_expired_token_is_refused_but_open_sessions_outlive_it(served):
    token = mint(served.url, expires_after={'anchor': 'created_at', 'seconds': 10}).json()['value']
    open_client = RealtimeClient(await connect(served.url, token))
    await open_client.recv()
    served.server.tokens.grants[token].expires_at = time.time() - 1  # fast-forward past the expiry
    await expect_rejection(await connect(served.url, token), 'invalid_api_key', 3000)
    await open_client.send({'type': 'input_audio_buffer.clear'})
    assert (await open_client.recv())['type'] == ServerEvent.INPUT_AUDIO_CLEARED
    await open_client.connection.close()


async def test_beta_subprotocol_is_an_api_version_mismatch(base_url):
    token = mint(base_url).json()['value']
    await expect_rejection(await connect(base_url, token, (BETA_SUBPROTOCOL,)), 'api_version_mismatch', 4000)


async def test_session_update_merges_and_null_clears(base_url):
    client = await open_session(base_url)
    await client.send({'type': 'session.update', 'session': {'type': 'realtime', 'instructions': 'Speak slowly.'}})
    session = (await client.recv())['session']
    assert session['instructions'] == 'Speak slowly.'
    assert session['audio']['input']['transcription']['model'] == 'gpt-4o-mini-transcribe'  # untouched
    await client.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {'input': {
        'transcription': None, 'noise_reduction': None,
        'turn_detection': {'type': 'server_vad', 'silence_duration_ms': 700}}}}})
    updated = await client.recv()
    assert updated['type'] == ServerEvent.SESSION_UPDATED
    audio_in = updated['session']['audio']['input']
    assert audio_in['transcription'] is None and audio_in['noise_reduction'] is None
    assert audio_in['turn_detection']['silence_duration_ms'] == 700
    assert audio_in['turn_detection']['threshold'] == 0.5  # filled with the type's defaults
    await client.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {'input': {
        'turn_detection': None}}}})
    assert (await client.recv())['session']['audio']['input']['turn_detection'] is None
    await client.connection.close()


@pytest.mark.parametrize(('session', 'code', 'param'), [
    ({'instructions': 'x'}, 'missing_required_parameter', 'session.type'),
    ({'type': 'realtime', 'modalities': ['audio']}, 'unknown_parameter', 'session.modalities'),
    ({'type': 'realtime', 'audio': {'input': {'turn_detection': {'type': 'server_vad', 'loud': 1}}}},
     'unknown_parameter', 'session.audio.input.turn_detection.loud'),
    ({'type': 'realtime', 'audio': {'output': {'voice': 'robot'}}}, 'invalid_value', 'session.audio.output.voice'),
])
async def test_invalid_session_update_is_an_error_and_the_session_stays(base_url, session, code, param):
    client = await open_session(base_url)
    await client.send_raw({'type': 'session.update', 'session': session, 'event_id': 'upd-1'})
    error = await client.expect_error(code)
    assert (error['param'], error['event_id']) == (param, 'upd-1')
    await client.send({'type': 'session.update', 'session': {'type': 'realtime', 'instructions': 'ok'}})
    assert (await client.recv())['type'] == ServerEvent.SESSION_UPDATED
    await client.connection.close()


async def test_voice_is_fixed_once_audio_was_produced(base_url):
    client = await open_session(base_url)
    await client.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {'output': {
        'voice': 'marin'}}}})
    assert (await client.recv())['session']['audio']['output']['voice'] == 'marin'
    await client.append(pcm_of('timer'))
    await client.send({'type': 'input_audio_buffer.commit'})
    await client.send({'type': 'response.create'})
    await client.until(ServerEvent.RATE_LIMITS_UPDATED)
    await client.send({'type': 'session.update', 'event_id': 'voice', 'session': {'type': 'realtime', 'audio': {
        'output': {'voice': 'cedar'}}}})
    error = await client.expect_error('cannot_update_voice')
    assert error['event_id'] == 'voice'
    await client.connection.close()


async def test_unknown_event_type_is_invalid_value_and_the_session_stays(base_url):
    client = await open_session(base_url)
    await client.send_raw({'type': 'response.audio.delta', 'event_id': 'beta-1'})
    error = await client.expect_error('invalid_value')
    assert (error['event_id'], error['param']) == ('beta-1', 'type')
    await client.send_raw('{not json')
    await client.expect_error('invalid_json')
    await client.send({'type': 'input_audio_buffer.clear'})
    assert (await client.recv())['type'] == ServerEvent.INPUT_AUDIO_CLEARED
    await client.connection.close()


async def test_second_response_while_active_and_cancel_without_response(base_url, faults):
    client = await open_session(base_url)
    await client.send({'type': 'response.cancel', 'event_id': 'nothing'})
    assert (await client.expect_error('response_cancel_not_active'))['event_id'] == 'nothing'
    faults.reply_delay_ms = 500
    await client.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'hi'}]}})
    await client.send({'type': 'response.create'})
    await client.until(ServerEvent.RESPONSE_CREATED)
    await client.send({'type': 'response.create', 'event_id': 'second'})
    error = (await client.until(ServerEvent.ERROR))[-1]['error']
    assert (error['code'], error['event_id']) == ('conversation_already_has_active_response', 'second')
    assert (await client.until(ServerEvent.RESPONSE_DONE))[-1]['response']['status'] == 'completed'
    await client.connection.close()


async def test_session_limit_ends_with_session_expired():
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST, session_limit_s=0.5))
    with serve(config) as served:
        client = await open_session(served.url)
        started = time.monotonic()
        error = await client.expect_error('session_expired', timeout=5)
        assert 0.4 <= time.monotonic() - started <= 3 and error['event_id'] is None
        with pytest.raises(websockets.ConnectionClosed):
            await client.recv()
        assert client.connection.close_code == 1001
        await asyncio.sleep(0)
