"""Serve the embedded server on a free port from a background thread, and talk to it like a client would."""
from __future__ import annotations

import asyncio
import base64
import json
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import websockets

from tests.protocol_validation import validate_client_event, validate_client_secret, validate_server_event
from tests.support import TESTDATA, read_wav, serve_in_thread
from voice_ui.local_realtime.server_config import LocalRealtimeConfig
from voice_ui.local_realtime.server import LocalRealtimeServer, create_app
from voice_ui.local_realtime.uvicorn_guards import server_options
from voice_ui.protocol import SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX

API_KEY = 'sk-local-test'
MANUAL_SESSION = {'type': 'realtime', 'model': 'gpt-realtime',
                  'audio': {'input': {'turn_detection': None, 'transcription': {'model': 'gpt-4o-mini-transcribe'}}}}


@dataclass
class Served:
    url: str                      # http://127.0.0.1:<port>/v1
    server: LocalRealtimeServer   # its token store, session logs and faults


@contextmanager
def serve(config: LocalRealtimeConfig):
    """Yields a `Served` while uvicorn serves `create_app(config)` on a free port."""
    app = create_app(config)
    with serve_in_thread(app, **server_options(config.limits)) as url:
        yield Served(url + '/v1', app.state.local_realtime)


def mint(base_url: str, session: dict | None = None, key: str = API_KEY, **body) -> httpx.Response:
    """POST client_secrets; a 200 body is checked against openai's `ClientSecretCreateResponse`."""
    payload = {'session': session if session is not None else MANUAL_SESSION, **body}
    response = httpx.post(f'{base_url}/realtime/client_secrets', json=payload,
                          headers={'Authorization': f'Bearer {key}'})
    if response.status_code == 200:
        validate_client_secret(response.json())
    return response


def pcm_of(name: str) -> bytes:
    return read_wav(TESTDATA / f'{name}.24k.wav', 24_000)


def silence(ms: int) -> bytes:
    return b'\0\0' * (24 * ms)


class RealtimeClient:
    """A `websockets` client that validates everything it sends and receives against the GA types."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self.connection = connection
        self.seen: list[dict] = []

    async def send(self, event: dict) -> None:
        validate_client_event(event)
        await self.connection.send(json.dumps(event))

    async def send_raw(self, message: str | dict) -> None:
        """For deliberately invalid events."""
        await self.connection.send(message if isinstance(message, str) else json.dumps(message))

    async def append(self, pcm: bytes, chunk_ms: int = 100) -> None:
        step = chunk_ms * 48
        for start in range(0, len(pcm), step):
            await self.send({'type': 'input_audio_buffer.append',
                             'audio': base64.b64encode(pcm[start:start + step]).decode('ascii')})

    async def recv(self, timeout: float = 10) -> dict:
        event = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
        validate_server_event(event)
        self.seen.append(event)
        return event

    async def until(self, event_type: str, timeout: float = 10) -> list[dict]:
        """Every event up to and including the first of `event_type`."""
        events = []
        while True:
            events.append(await self.recv(timeout))
            if events[-1]['type'] == event_type:
                return events

    async def expect_error(self, code: str, timeout: float = 10) -> dict:
        event = await self.recv(timeout)
        assert event['type'] == 'error', event
        assert event['error']['code'] == code, event
        return event['error']


async def connect(base_url: str, token: str, extra_subprotocols: tuple[str, ...] = (),
                  model: str = 'gpt-realtime') -> websockets.ClientConnection:
    url = base_url.replace('http', 'ws', 1) + f'/realtime?model={model}'
    return await websockets.connect(url, subprotocols=[SUBPROTOCOL, *extra_subprotocols,
                                                       TOKEN_SUBPROTOCOL_PREFIX + token])


async def open_session(base_url: str, session: dict | None = None) -> RealtimeClient:
    """Mint, connect, and read `session.created`."""
    token = mint(base_url, session).json()['value']
    client = RealtimeClient(await connect(base_url, token))
    created = await client.recv()
    assert created['type'] == 'session.created'
    return client
