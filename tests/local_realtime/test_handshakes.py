"""Hostile handshakes over raw TCP: silence, a head that never ends, giant headers. Each is answered or dropped
promptly, and sessions that did open are untouched by the handshake deadline."""
from __future__ import annotations

import asyncio
import socket
import time

import pytest
import websockets

from voice_ui.local_realtime.limits import ServerLimits
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing

from tests.support import serve_in_thread
from voice_ui.local_realtime.server import create_app
from voice_ui.local_realtime.uvicorn_guards import server_options

from .serving import API_KEY, Served, mint, open_session, serve

TIMEOUT_S = 0.5
UPGRADE = ('GET /v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
           'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n')


@pytest.fixture(scope='module')
def guarded():
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST),
                                 limits=ServerLimits(handshake_timeout_s=TIMEOUT_S))
    with serve(config) as served:
        yield served


def exchange(url: str, data: bytes, wait_s: float = 5) -> tuple[bytes, float]:
    """Send `data`, then read until the server answers or closes; (what came back, seconds it took)."""
    host, port = url.split('//')[1].split('/')[0].split(':')
    with socket.create_connection((host, int(port))) as sock:
        sock.settimeout(wait_s)
        sock.sendall(data)
        started, received = time.monotonic(), b''
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b'\r\n\r\n' in received:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
        return received, time.monotonic() - started


@pytest.mark.parametrize('data', [b'', b'GET /v1/realtime HTTP/1.1\r\nHost: x\r\n', UPGRADE.encode()],
                         ids=['nothing', 'partial-head', 'upgrade-without-end'])
def test_a_handshake_that_never_completes_is_dropped(guarded, data):
    received, took = exchange(guarded.url, data)
    assert received == b'' and TIMEOUT_S * 0.8 <= took < TIMEOUT_S + 2, (received, took)


def test_a_64_kb_subprotocol_header_is_refused_at_once(guarded):
    head = UPGRADE + 'Sec-WebSocket-Protocol: realtime, ' + 'a' * 65_536 + '\r\n\r\n'
    received, took = exchange(guarded.url, head.encode())
    assert received.startswith(b'HTTP/1.1 431 ') and took < 2, (received[:80], took)


def test_a_header_line_websockets_cannot_parse_gets_a_400(guarded):
    head = UPGRADE + 'Sec-WebSocket-Protocol: realtime, ' + 'a' * 10_000 + '\r\n\r\n'
    received, took = exchange(guarded.url, head.encode())
    assert received.startswith(b'HTTP/1.1 400 ') and took < 2, (received[:80], took)


@pytest.fixture(scope='module')
def like_nicegui():
    """How `python main.py` serves it: NiceGUI's uvicorn picks wsproto, we add the HTTP guard."""
    limits = ServerLimits(handshake_timeout_s=TIMEOUT_S)
    app = create_app(LocalRealtimeConfig(api_keys={API_KEY}, limits=limits))
    with serve_in_thread(app, ws='wsproto', **server_options(limits, choose_ws=False)) as url:
        yield Served(url + '/v1', app.state.local_realtime)


@pytest.fixture(params=['guarded', 'like_nicegui'])
def either(request):
    return request.getfixturevalue(request.param)


def test_idle_and_giant_heads_are_handled_under_wsproto_too(like_nicegui):
    assert exchange(like_nicegui.url, b'')[0] == b''
    head = UPGRADE + 'Sec-WebSocket-Protocol: realtime, ' + 'a' * 65_536 + '\r\n\r\n'
    assert exchange(like_nicegui.url, head.encode())[0].startswith(b'HTTP/1.1 431 ')


async def test_a_subprotocol_header_over_its_limit_is_a_403(either):
    url = either.url.replace('http', 'ws', 1) + '/realtime?model=gpt-realtime'
    token = mint(either.url).json()['value']
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(url, subprotocols=['realtime', 'x' * 5000, f'openai-insecure-api-key.{token}'])
    assert refused.value.response.status_code == 403


async def test_open_sessions_outlive_the_handshake_deadline(guarded):
    client = await open_session(guarded.url)
    await asyncio.sleep(TIMEOUT_S * 3)
    await client.send({'type': 'input_audio_buffer.clear'})
    assert (await client.recv())['type'] == 'input_audio_buffer.cleared'
    await client.connection.close()


def test_keep_alive_http_requests_still_work(guarded):
    body = b'{"session": {"type": "realtime"}}'
    request = (f'POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n'
               f'Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n').encode() + body
    received, _ = exchange(guarded.url, request)
    assert received.startswith(b'HTTP/1.1 200 ')
