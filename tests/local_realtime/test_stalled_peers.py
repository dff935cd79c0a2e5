"""Peers that stop reading: what the server holds for them stays bounded and, after `send_stall_timeout_s` without
a byte read, the connection is dropped. Measured as the peak RSS of this process (the server runs in a thread)."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time

import pytest

from tests.support import serve_in_thread
from voice_ui.local_realtime.limits import MIB, ServerLimits
from voice_ui.local_realtime.server import create_app
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.local_realtime.uvicorn_guards import server_options

from voice_ui.local_realtime.engine import RealtimeEngine
from voice_ui.local_realtime.introspection import SessionLog
from voice_ui.local_realtime.server_agent import EchoAgent
from voice_ui.local_realtime.session_schema import default_session
from voice_ui.local_realtime.transport import Connection

from .raw_peer import PING, TEXT, PeakRss, frame, open_raw
from .serving import API_KEY, Served, serve

STALL_S = 2.0


LIMITS = ServerLimits(send_stall_timeout_s=STALL_S, max_queued_bytes=4 * MIB)
CONFIG = {'api_keys': {API_KEY}, 'engine': EngineOptions(pacing=Pacing.BURST), 'limits': LIMITS}


@pytest.fixture
def stalling() -> Served:
    """A fresh server per test: a dropped peer must leave no session behind."""
    with serve(LocalRealtimeConfig(**CONFIG)) as served:
        yield served


@pytest.fixture(params=['guarded', 'like_nicegui'])
def either(request) -> Served:
    """The standalone server (our uvicorn protocols) and the NiceGUI way (uvicorn's wsproto)."""
    if request.param == 'guarded':
        yield request.getfixturevalue('stalling')
        return
    app = create_app(LocalRealtimeConfig(**CONFIG))
    with serve_in_thread(app, ws='wsproto', **server_options(LIMITS, choose_ws=False)) as url:
        yield Served(url + '/v1', app.state.local_realtime)


def cut_within(sock: socket.socket, data: bytes, seconds: float) -> float | None:
    """Keep sending `data` without reading; the time the server cut the connection, or None if it never did."""
    started = time.monotonic()
    sock.settimeout(1.0)
    while time.monotonic() - started < seconds:
        try:
            sock.sendall(data)
        except TimeoutError:
            continue  # the server stopped reading (good): keep pushing until it drops us
        except OSError:
            return time.monotonic() - started
    return None


def test_a_ping_flood_from_a_peer_that_never_reads_is_bounded_then_dropped(either):
    stalling = either
    sock = open_raw(stalling.url, {'Authorization': f'Bearer {API_KEY}'}, receive_buffer=4096)
    time.sleep(0.3)  # the session opens; nothing it sends is ever read
    pings = frame(PING, b'p' * 125) * 500
    with PeakRss() as rss:
        cut_after = cut_within(sock, pings, STALL_S + 6)
    sock.close()
    # Before: every ping got its pong queued at once, ~1 MB of server memory per MB of pings, for as long as
    # the peer kept sending (125 MB in 8 s), and the connection was never dropped; under NiceGUI's wsproto too,
    # until the peer sent a message the session had to answer (a pure ping flood never was).
    assert cut_after is not None and cut_after < STALL_S + 4, cut_after
    assert rss.growth_mb < 30, rss.growth_mb


def test_retrieves_from_a_peer_that_never_reads_queue_a_bounded_backlog_then_it_is_dropped(either):
    stalling = either
    sock = open_raw(stalling.url, {'Authorization': f'Bearer {API_KEY}'}, receive_buffer=4096)
    audio = base64.b64encode(os.urandom(1_000_000)).decode()
    item = {'id': 'big', 'type': 'message', 'role': 'user',
            'content': [{'type': 'input_audio', 'audio': audio, 'transcript': 'noise'}]}
    sock.sendall(frame(TEXT, json.dumps({'type': 'conversation.item.create', 'item': item}).encode()))
    time.sleep(0.5)
    retrieves = frame(TEXT, b'{"type": "conversation.item.retrieve", "item_id": "big"}') * 300
    with PeakRss() as rss:
        sock.sendall(retrieves)  # 17 KB asking for 300 copies of 1.3 MB of base64
        deadline = time.monotonic() + STALL_S + 6
        while stalling.server.sessions.count and time.monotonic() < deadline:
            time.sleep(0.05)
    sock.close()
    # Before: every retrieve was answered into the queue at once (1.2 GB for these 300), bounded only by count.
    assert rss.growth_mb < 120, rss.growth_mb
    assert stalling.server.sessions.count == 0, 'the peer that never reads is still being served'


class SilentPeer:
    """A WebSocket whose sends never complete and which sends nothing: any implementation's non-reader."""

    async def receive(self) -> dict:
        await asyncio.Event().wait()

    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()


async def test_a_send_that_never_completes_ends_the_connection_under_any_websocket_implementation():
    limits = ServerLimits(send_stall_timeout_s=0.4)
    engine = RealtimeEngine({**default_session(), 'id': 'sess_silent'}, 0, limits=limits)
    connection = Connection(SilentPeer(), engine, EchoAgent(), SessionLog.start([], None, None), limits)
    started = time.monotonic()
    await asyncio.wait_for(connection.run(), 3)  # before: held forever, its session with it
    assert time.monotonic() - started < 1.5 and engine.closed
    assert connection.log.outcome == 'dropped: not reading'
