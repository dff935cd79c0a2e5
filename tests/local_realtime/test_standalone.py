"""The two ways the server runs for real: `python -m voice_ui.local_realtime`, and mounted into NiceGUI's app."""
from __future__ import annotations


import httpx
import pytest

from tests.support import AppProcess, free_port, run_python
from voice_ui.protocol import ServerEvent

from .serving import RealtimeClient, connect, mint

KEY = 'sk-standalone-test'


def start(args: list[str], port: int, ready_path: str) -> AppProcess:
    # VOICE_UI_ALLOW_FAULTS unset: the fault endpoints must depend on the flag alone.
    return AppProcess(f'standalone-{port}', args, port, {'VOICE_UI_ALLOW_FAULTS': None}, ready_path).wait_ready(90)


async def assert_serves_realtime(base_url: str) -> None:
    token = mint(base_url, key=KEY).json()['value']
    client = RealtimeClient(await connect(base_url, token))
    assert (await client.recv())['type'] == ServerEvent.SESSION_CREATED
    await client.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'ping'}]}})
    await client.send({'type': 'response.create'})
    assert (await client.until(ServerEvent.RESPONSE_DONE))[-1]['response']['status'] == 'completed'
    await client.connection.close()


@pytest.mark.parametrize('allow_faults', [True, False])
async def test_python_m_standalone_server(allow_faults):
    port = free_port()
    args = ['-m', 'voice_ui.local_realtime', '--port', str(port), '--api-key', KEY,
            '--pacing', 'burst', '--agent', 'echo']
    process = start(args + (['--allow-faults'] if allow_faults else []), port, '/v1/realtime/client_secrets')
    try:
        base_url = f'http://127.0.0.1:{port}/v1'
        await assert_serves_realtime(base_url)
        status = httpx.get(f'{base_url}/_local/sessions').status_code
        assert status == (200 if allow_faults else 404)
    finally:
        process.stop()


def test_standalone_refuses_to_start_without_a_key():
    result = run_python('-m', 'voice_ui.local_realtime', timeout=30, OPENAI_API_KEY=None)
    assert result.returncode == 2 and 'API key is required' in result.stderr


async def test_mounted_into_nicegui_app_next_to_a_catch_all_page():
    port = free_port()
    process = start(['tests/local_realtime/nicegui_host.py', str(port), KEY], port, '/')
    try:
        base_url = f'http://127.0.0.1:{port}/v1'
        await assert_serves_realtime(base_url)
        page = httpx.get(f'http://127.0.0.1:{port}/')
        assert page.status_code == 200 and 'voice-ui host page' in page.text
        assert 'catch-all page for elsewhere' in httpx.get(f'http://127.0.0.1:{port}/elsewhere').text
    finally:
        process.stop()
