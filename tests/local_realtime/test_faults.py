"""Faults on demand and the introspection log, through the config object and the `/v1/_local/` endpoints."""
from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
import websockets

from tests.support import wait_until
from voice_ui.local_realtime.server_config import LocalRealtimeConfig
from voice_ui.protocol import ServerEvent

from .serving import API_KEY, RealtimeClient, connect, mint, open_session, pcm_of, serve


async def start_turn(client) -> None:
    await client.append(pcm_of('lights'))
    await client.send({'type': 'input_audio_buffer.commit'})
    await client.send({'type': 'response.create'})


async def test_drop_after_n_audio_deltas_cuts_the_connection(base_url):
    response = httpx.post(f'{base_url}/_local/faults', json={'drop_after_audio_deltas': 3})
    assert response.status_code == 200 and response.json()['drop_after_audio_deltas'] == 3
    client = await open_session(base_url)
    await start_turn(client)
    with pytest.raises(websockets.ConnectionClosedError):
        while True:
            await client.recv()
    assert [e['type'] for e in client.seen].count(ServerEvent.OUTPUT_AUDIO_DELTA) == 3
    assert ServerEvent.RESPONSE_DONE not in [e['type'] for e in client.seen]
    assert client.connection.close_code == 1006  # no close frame: like a network failure


async def test_injected_error_replaces_one_client_event(base_url):
    httpx.post(f'{base_url}/_local/faults', json={
        'error_on': 'response.create', 'error': {'type': 'server_error', 'code': 'rate_limit_exceeded',
                                                 'message': 'slow down'}})
    client = await open_session(base_url)
    await client.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'hi'}]}})
    await client.until(ServerEvent.ITEM_DONE)
    await client.send({'type': 'response.create', 'event_id': 'rc-1'})
    error = await client.expect_error('rate_limit_exceeded')
    assert (error['message'], error['event_id']) == ('slow down', 'rc-1')
    await client.send({'type': 'response.create'})  # error_times defaults to 1
    assert (await client.until(ServerEvent.RESPONSE_DONE))[-1]['response']['status'] == 'completed'
    await client.connection.close()


async def test_reply_delay_and_jitter_slow_the_deltas_but_keep_their_order(base_url, faults):
    faults.reply_delay_ms, faults.delta_jitter_ms, faults.seed = 300, 20, 7
    client = await open_session(base_url)
    await start_turn(client)
    await client.until(ServerEvent.RESPONSE_CREATED)
    asked = time.monotonic()
    first = await client.until(ServerEvent.OUTPUT_AUDIO_DELTA)
    assert time.monotonic() - asked >= 0.28
    events = first + await client.until(ServerEvent.RESPONSE_DONE)
    played = [e for e in events if e['type'] == ServerEvent.OUTPUT_AUDIO_DELTA]
    assert b''.join(base64.b64decode(e['delta']) for e in played) == pcm_of('lights')
    await client.connection.close()


async def test_session_log_records_what_the_server_received_without_secrets(base_url):
    httpx.delete(f'{base_url}/_local/sessions')
    token = mint(base_url).json()['value']
    connection = await connect(base_url, token)
    client = RealtimeClient(connection)
    await client.recv()
    await client.append(pcm_of('timer'), chunk_ms=40)
    await client.send({'type': 'input_audio_buffer.commit', 'event_id': 'commit-1'})
    await client.until(ServerEvent.INPUT_AUDIO_COMMITTED)
    await connection.close()

    def closed_log() -> httpx.Response | None:
        response = httpx.get(f'{base_url}/_local/sessions')
        return response if [log['outcome'] for log in response.json()] == ['closed'] else None
    response = wait_until(closed_log, 5, 'the session log recording the close')
    assert token not in response.text and API_KEY not in response.text
    [log] = response.json()
    assert log['subprotocols'] == ['realtime'] and log['token_subprotocol_present'] is True
    assert log['model'] == 'gpt-realtime' and log['accepted_subprotocol'] == 'realtime'
    appends = [e for e in log['client_events'] if e['type'] == 'input_audio_buffer.append']
    assert sum(e['audio_bytes'] for e in appends) == len(pcm_of('timer'))
    assert all('audio' not in e for e in appends)
    times = [e['received_at'] for e in log['client_events']]
    assert times == sorted(times)
    assert log['client_events'][-1]['type'] == 'input_audio_buffer.commit'
    assert log['client_events'][-1]['event_id'] == 'commit-1'
    assert log['server_events'][:2] == [ServerEvent.SESSION_CREATED, ServerEvent.INPUT_AUDIO_COMMITTED]
    assert log['outcome'] == 'closed'


def test_faults_endpoint_rejects_unknown_fields(base_url):
    response = httpx.post(f'{base_url}/_local/faults', json={'drop_after': 2})
    assert response.status_code == 400 and 'drop_after' in response.json()['error']['message']
    assert httpx.get(f'{base_url}/_local/faults').json()['drop_after_audio_deltas'] is None


def test_faults_endpoint_sets_mint_failures(base_url):
    httpx.post(f'{base_url}/_local/faults', json={'mint_status': 429, 'mint_times': 1})
    assert mint(base_url).status_code == 429
    assert mint(base_url).status_code == 200


@pytest.mark.parametrize('env', ['', '0'])
def test_control_endpoints_are_404_unless_allowed(monkeypatch, env):
    monkeypatch.setenv('VOICE_UI_ALLOW_FAULTS', env)
    with serve(LocalRealtimeConfig(api_keys={API_KEY})) as served:
        assert httpx.get(f'{served.url}/_local/sessions').status_code == 404
        assert httpx.post(f'{served.url}/_local/faults', json={'mint_status': 500}).status_code == 404
        assert mint(served.url).status_code == 200


def test_env_switch_allows_control_endpoints(monkeypatch):
    monkeypatch.setenv('VOICE_UI_ALLOW_FAULTS', '1')
    with serve(LocalRealtimeConfig(api_keys={API_KEY})) as served:
        assert json.loads(httpx.get(f'{served.url}/_local/sessions').text) == []
