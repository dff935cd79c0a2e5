"""A closed session's memory returns at once, by reference counting alone (the cyclic GC switched off), and a
process's memory stays flat under traffic that used to grow it."""
from __future__ import annotations

import asyncio
import base64
import gc
import weakref
from contextlib import contextmanager

from voice_ui.local_realtime import engine as engine_module
from voice_ui.local_realtime.limits import MIB
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing

from .serving import API_KEY, open_session, serve
from .test_bounds import manual_session
from .test_fuzz import Session


@contextmanager
def no_cyclic_gc():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def rss_bytes() -> int:
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * 4096


def test_an_engine_is_freed_by_reference_counting_after_turns_and_after_close():
    with no_cyclic_gc():
        session = manual_session(engine_module.ServerLimits())
        for turn in range(3):
            session.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(b'\1\0' * 48_000).decode()},
                         turn)
            session.send({'type': 'input_audio_buffer.commit'}, turn)
            session.send({'type': 'response.create'}, turn)
        finished = weakref.ref(session.engine)
        del session
        assert finished() is None, gc.get_referrers(finished())  # no cycle even without close()

        session = Session()
        session.poll(0)
        session.send({'type': 'conversation.item.create', 'item': {
            'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'hi'}]}}, 0)
        session.engine.receive({'type': 'response.create'}, 0)  # a response still in flight ...
        session.engine.close()                                    # ... when the session closes
        closing = weakref.ref(session.engine)
        del session
        assert closing() is None


async def test_a_closed_socket_session_frees_its_audio_without_the_gc(monkeypatch):
    engines: list[weakref.ref] = []
    original = engine_module.RealtimeEngine.__init__

    def recording(self, *args, **kwargs):
        original(self, *args, **kwargs)
        engines.append(weakref.ref(self))

    monkeypatch.setattr(engine_module.RealtimeEngine, '__init__', recording)
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST))
    with serve(config) as served, no_cyclic_gc():
        before = rss_bytes()
        for _ in range(3):
            client = await open_session(served.url)
            chunk = base64.b64encode(b'\3\0' * (MIB // 2)).decode()
            for _ in range(12):  # 12 MiB uncommitted
                await client.send({'type': 'input_audio_buffer.append', 'audio': chunk})
            await client.send({'type': 'input_audio_buffer.clear'})
            await client.until('input_audio_buffer.cleared')
            for _ in range(8):
                await client.send({'type': 'input_audio_buffer.append', 'audio': chunk})
            await client.connection.close()
            for _ in range(200):
                if served.server.sessions.count == 0 and all(ref() is None for ref in engines):
                    break
                await asyncio.sleep(0.02)
        assert len(engines) == 3 and all(ref() is None for ref in engines)
        growth = rss_bytes() - before
    assert growth < 40 * MIB, f'{growth / MIB:.0f} MiB kept after three closed 8 MiB sessions'


async def test_a_flood_of_appends_keeps_the_process_within_the_buffer_cap():
    """The issue's measurement: 200 x 1 MB appends used to add ~190 MB. Now the buffer stops at its cap."""
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST))
    with serve(config) as served:
        client = await open_session(served.url, {'type': 'realtime', 'audio': {'input': {'turn_detection': None}}})
        chunk = base64.b64encode(b'\5\0' * (MIB // 2)).decode()
        gc.collect()
        before = rss_bytes()
        refused = 0
        for number in range(60):
            await client.send({'type': 'input_audio_buffer.append', 'audio': chunk, 'event_id': f'a{number}'})
        await client.send({'type': 'input_audio_buffer.clear', 'event_id': 'end', 'x': 1})
        while (event := await client.recv())['type'] == 'error' and event['error']['event_id'] != 'end':
            refused += 1
        gc.collect()
        growth = rss_bytes() - before
        assert refused == 60 - 16  # 16 MiB fit the default cap; the rest were refused one by one
        await client.connection.close()
    assert growth < 48 * MIB, f'{growth / MIB:.0f} MiB for 60 MiB appended'
