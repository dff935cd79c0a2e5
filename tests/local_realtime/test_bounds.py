"""Each bound of `ServerLimits`: crossing it is refused with an `error` (or an HTTP status), the session lives,
and what the server holds stays within the bound."""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
import websockets

from voice_ui.local_realtime.limits import MIB, ServerLimits
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing

from .serving import API_KEY, MANUAL_SESSION, RealtimeClient, connect, mint, open_session, serve
from .test_fuzz import Session


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode('ascii')


def manual_session(limits: ServerLimits) -> Session:
    session = Session()
    session.engine.limits = limits
    session.poll(0)
    session.send({'type': 'session.update', 'session': MANUAL_SESSION}, 0)
    return session


def only_error(answer: list[dict], code: str, param: str | None) -> dict:
    assert [e['type'] for e in answer] == ['error'], answer
    assert (answer[0]['error']['code'], answer[0]['error']['param']) == (code, param), answer
    return answer[0]['error']


def test_an_append_may_carry_the_services_15_mib_and_no_more():
    session = manual_session(ServerLimits())
    only_error(session.send({'type': 'input_audio_buffer.append', 'audio': b64(b'\0' * (15 * MIB + 2))}, 1),
               'string_above_max_length', 'audio')
    assert len(session.engine.audio.buffer) == 0
    assert session.send({'type': 'input_audio_buffer.append', 'audio': b64(b'\0' * 15 * MIB)}, 1) == []
    assert len(session.engine.audio.buffer) == 15 * MIB


def test_the_uncommitted_buffer_is_capped_and_a_refused_append_changes_nothing():
    session = manual_session(ServerLimits(max_input_buffer_bytes=48_000))
    assert session.send({'type': 'input_audio_buffer.append', 'audio': b64(b'\1\0' * 20_000)}, 1) == []
    error = only_error(session.send({'type': 'input_audio_buffer.append', 'audio': b64(b'\1\0' * 5_000),
                                     'event_id': 'big'}, 1), 'invalid_value', 'audio')
    assert error['event_id'] == 'big' and '48000' in error['message']
    assert len(session.engine.audio.buffer) == 40_000
    answer = session.send({'type': 'input_audio_buffer.commit'}, 2)
    assert answer[0]['type'] == 'input_audio_buffer.committed'
    assert session.send({'type': 'input_audio_buffer.append', 'audio': b64(b'\1\0' * 20_000)}, 3) == []


def test_with_vad_waiting_for_speech_old_silence_is_dropped_instead():
    session = Session()
    session.engine.limits = ServerLimits(max_input_buffer_bytes=96_000)
    session.poll(0)
    for second in range(10):  # 10 s of silence into a 2 s buffer, server VAD on (the default)
        assert session.send({'type': 'input_audio_buffer.append', 'audio': b64(b'\0' * 48_000)}, second) == []
        assert len(session.engine.audio.buffer) <= 96_000
    audio = session.engine.audio
    assert audio.buffer_start_ms + len(audio.buffer) // 48 == audio.total_ms == 10_000  # the timeline holds


async def test_a_frame_over_the_limit_is_an_error_and_twice_the_limit_is_refused_by_the_socket():
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST),
                                 limits=ServerLimits(max_frame_bytes=10_000))
    with serve(config) as served:
        client = await open_session(served.url)
        await client.send_raw(json.dumps({'type': 'input_audio_buffer.append', 'audio': 'A' * 12_000}))
        error = await client.expect_error('invalid_value')
        assert '10000' in error['message']
        await client.send({'type': 'input_audio_buffer.clear'})
        assert (await client.recv())['type'] == 'input_audio_buffer.cleared'
        await client.connection.send('x' * 30_000)  # beyond ws_max_size: the WebSocket layer closes
        with pytest.raises(websockets.ConnectionClosed):
            await client.recv()
        assert client.connection.close_code == 1009


async def refused(connection, code: str, close_code: int) -> None:
    client = RealtimeClient(connection)
    assert (await client.expect_error(code))['event_id'] is None
    with pytest.raises(websockets.ConnectionClosed):
        await client.recv()
    assert connection.close_code == close_code


async def test_sessions_per_process_and_per_token_are_bounded():
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST),
                                 limits=ServerLimits(max_sessions=3, max_sessions_per_token=2))
    with serve(config) as served:
        token = mint(served.url).json()['value']
        first, second = [RealtimeClient(await connect(served.url, token)) for _ in range(2)]
        for client in (first, second):
            assert (await client.recv())['type'] == 'session.created'
        await refused(await connect(served.url, token), 'rate_limit_exceeded', 1013)  # third on this token
        other = RealtimeClient(await connect(served.url, mint(served.url).json()['value']))
        assert (await other.recv())['type'] == 'session.created'
        await refused(await connect(served.url, mint(served.url).json()['value']), 'rate_limit_exceeded', 1013)
        await first.connection.close()
        for _ in range(100):
            if served.server.sessions.count < 3:
                break
            await asyncio.sleep(0.02)
        again = RealtimeClient(await connect(served.url, token))  # a freed slot is free again
        assert (await again.recv())['type'] == 'session.created'
        await second.send({'type': 'input_audio_buffer.clear'})  # the admitted ones never noticed
        assert (await second.recv())['type'] == 'input_audio_buffer.cleared'
        for client in (second, other, again):
            await client.connection.close()


def test_conversation_audio_is_kept_within_budget_and_transcripts_stay():
    session = manual_session(ServerLimits(max_kept_audio_bytes=100_000))
    for turn in range(6):
        session.send({'type': 'input_audio_buffer.append', 'audio': b64(b'\2\0' * 24_000)}, turn)  # 1 s
        session.send({'type': 'input_audio_buffer.commit'}, turn)
        session.send({'type': 'response.create'}, turn)
    items = session.engine.conversation.items
    assert len(items) == 12
    assert sum(len(item.audio) for item in items) <= 100_000 + 48_000  # the newest user turn always stays
    assert items[-2].audio and not items[0].audio  # the newest kept, the oldest dropped
    assert all(item.text for item in items)  # every transcript survives
