"""The introspection log exists only with the fault endpoints, is bounded, and never re-parses what it logs;
a client that never reads cannot make the server queue without bound."""
from __future__ import annotations

import asyncio
import base64
import json

import httpx

from voice_ui.local_realtime import safe_json
from voice_ui.local_realtime.engine import RealtimeEngine
from voice_ui.local_realtime.introspection import SessionLog
from voice_ui.local_realtime.limits import ServerLimits
from voice_ui.local_realtime.server_agent import EchoAgent
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.local_realtime.session_schema import default_session
from voice_ui.local_realtime.transport import Connection

from .serving import API_KEY, open_session, serve


async def test_without_fault_endpoints_nothing_is_logged(monkeypatch):
    monkeypatch.delenv('VOICE_UI_ALLOW_FAULTS', raising=False)
    with serve(LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST))) as served:
        client = await open_session(served.url)
        for _ in range(20):
            await client.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(b'\0' * 4800).decode()})
        await client.send({'type': 'input_audio_buffer.clear'})
        await client.until('input_audio_buffer.cleared')
        assert not served.server.logs.logs
        await client.connection.close()


async def test_the_log_keeps_so_many_sessions_and_events():
    limits = ServerLimits(session_log_sessions=2, session_log_events=5, session_log_event_bytes=200)
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST), limits=limits,
                                 allow_fault_endpoints=True)
    with serve(config) as served:
        for _ in range(3):
            client = await open_session(served.url)
            await client.send({'type': 'session.update', 'session': {'type': 'realtime', 'instructions': 'x' * 500}})
            for _ in range(9):
                await client.send({'type': 'input_audio_buffer.clear'})
            for _ in range(9):
                await client.until('input_audio_buffer.cleared')
            await client.connection.close()
        await asyncio.sleep(0.2)
        logs = httpx.get(f'{served.url}/_local/sessions').json()
        assert len(logs) == 2
        for log in logs:
            assert len(log['client_events']) == 5 and log['client_events_dropped'] == 5
            assert 'session' not in log['client_events'][0]  # too big: type and size only
            assert log['client_events'][0]['type'] == 'session.update' and log['client_events'][0]['raw_length'] > 500
            assert len(log['server_events']) == 5 and log['server_events_dropped'] >= 1


def test_appends_are_parsed_and_decoded_once(monkeypatch):
    """The engine validates (one JSON parse, one base64 decode); the log takes the validated event."""
    parses, decodes = [], []
    real_decoder, real_loads, real_decode = safe_json.DECODER, json.loads, base64.b64decode

    class CountingDecoder:
        def decode(self, text):
            parses.append(1)
            return real_decoder.decode(text)

    monkeypatch.setattr(safe_json, 'DECODER', CountingDecoder())
    monkeypatch.setattr(json, 'loads', lambda *a, **k: parses.append(1) or real_loads(*a, **k))
    monkeypatch.setattr(base64, 'b64decode', lambda *a, **k: decodes.append(1) or real_decode(*a, **k))
    engine = RealtimeEngine({**default_session(), 'id': 'sess_x'}, 0)
    log = SessionLog.start(['realtime'], None, 'gpt-realtime')
    frame = json.dumps({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(b'\0' * 960).decode()})
    parses.clear()
    log.client(engine.receive(frame, 0), len(frame))
    assert (len(parses), len(decodes)) == (1, 1)
    assert log.client_events[0]['audio_bytes'] == 960 and 'audio' not in log.client_events[0]


class NeverReadingPeer:
    """A WebSocket whose peer floods bad events and never reads: every send blocks."""

    def __init__(self, frames: int) -> None:
        self.frames, self.received = frames, 0
        self.unblock = asyncio.Event()

    async def receive(self) -> dict:
        if self.received >= self.frames:
            await asyncio.Event().wait()
        self.received += 1
        return {'type': 'websocket.receive', 'text': '{"type": "nope"}'}

    async def send_text(self, text: str) -> None:
        await self.unblock.wait()


async def test_a_peer_that_never_reads_cannot_grow_the_queue():
    limits = ServerLimits(max_queued_events=50)
    engine = RealtimeEngine({**default_session(), 'id': 'sess_x'}, 0, limits=limits)
    peer = NeverReadingPeer(frames=10_000)
    connection = Connection(peer, engine, EchoAgent(), SessionLog.start([], None, None), limits)
    running = asyncio.create_task(connection.run())
    await asyncio.sleep(0.5)
    assert peer.received <= 60 and len(engine.outbox) <= 52, (peer.received, len(engine.outbox))
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert engine.closed and len(engine.outbox) == 0
