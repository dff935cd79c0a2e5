"""Kept transcripts (voice_ui/conversation_store.py, transcript_keeper.py): whose entry a page reaches, the bounds,
hostile snapshots, and a page that reloads in the same tab getting its conversation back (Close Session forgets it).
The Redis side runs against a real redis-server; the failover through nginx is in test_replicas.py."""
from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings, strategies as st
from nicegui import ui
from nicegui.testing import User

from voice_ui import conversation_store as cs
from voice_ui.conversation_store import MemoryTranscripts, RedisTranscripts, decode, encode, entry_key
from voice_ui.protocol import UiEvent
from voice_ui.realtime_session import RealtimeSession
from voice_ui.transcript_keeper import NOTICE

from .cluster import Redis

TAB = '3f2b8c1e-0000-4000-8000-0123456789ab'


def turns(n: int, text: str = 'hello') -> list[dict]:
    return [{'role': ('user', 'assistant')[i % 2], 'text': f'{text} {i}', 'done': True, 'note': '', 'at': 1.0 + i}
            for i in range(n)]


def test_an_entry_belongs_to_one_sign_in_and_one_tab():
    assert entry_key('session-1', TAB) == entry_key('session-1', TAB)
    assert entry_key('session-2', TAB) != entry_key('session-1', TAB)  # another person's sign-in: another entry
    assert entry_key('session-1', TAB.replace('3', '4')) != entry_key('session-1', TAB)
    for bad in (None, '', 'short', 'x' * 65, 'tab id with spaces', '../../etc', 42, ['a' * 10]):
        assert entry_key('session-1', bad) is None, bad
    assert entry_key('', TAB) is None
    assert 'session-1' not in entry_key('session-1', TAB)  # a hash: reading the store reveals no session id


def test_memory_store_round_trip_bounds_and_forget():
    clock = [0.0]
    store = MemoryTranscripts(clock=lambda: clock[0])
    key = entry_key('s', TAB)
    store.save('s', key, turns(3))
    assert [t['text'] for t in store.load(key)] == ['hello 0', 'hello 1', 'hello 2']
    store.save('s', key, turns(cs.MAX_TURNS + 50))
    kept = store.load(key)
    assert len(kept) == cs.MAX_TURNS and kept[-1]['text'] == f'hello {cs.MAX_TURNS + 49}'  # the newest stay
    store.save('s', key, [{'role': 'user', 'text': 'x' * (3 * cs.MAX_CHARS), 'done': True}])
    assert sum(len(t['text']) for t in store.load(key)) <= cs.MAX_CHARS
    keys = [entry_key('s', f'{TAB[:-2]}{i:02d}') for i in range(cs.MAX_TABS + 5)]
    for k in keys:
        store.save('s', k, turns(1))
    assert not store.load(keys[0]) and store.load(keys[-1])  # at most MAX_TABS per sign-in, the oldest go
    other = entry_key('t', TAB)
    store.save('t', other, turns(1))
    store.forget('s')
    assert not any(store.load(k) for k in keys) and store.load(other)  # a logout forgets only its own tabs
    store.save('t', other, [])
    assert not store.load(other)  # Close Session: an empty conversation deletes the entry
    store.save('t', other, turns(1))
    clock[0] += cs.KEEP_S + 1
    assert not store.load(other)  # expired


def test_memory_store_caps_entries_over_everyone(monkeypatch):
    monkeypatch.setattr(cs, 'MAX_ENTRIES', 30)
    store = MemoryTranscripts()
    for i in range(100):
        store.save(f'person-{i}', entry_key(f'person-{i}', TAB), turns(1))
    assert len(store._entries) == 30 and len(store._by_scope) == 30


hostile = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
                       lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=6),
                       max_leaves=30)


@settings(max_examples=150, deadline=None)
@given(st.one_of(hostile, st.fixed_dictionaries({'v': st.just(1), 'turns': st.lists(hostile, max_size=10)}),
                 st.fixed_dictionaries({'v': st.just(1), 'turns': st.lists(st.fixed_dictionaries(
                     {'role': st.sampled_from(['user', 'assistant', 'system']), 'text': hostile, 'done': hostile,
                      'note': hostile, 'at': hostile}), max_size=10)})))
def test_any_stored_snapshot_reads_back_as_checked_turns_or_nothing(data):
    for raw in (json.dumps(data), json.dumps(data).encode(), b'\xff\xfe not json', '{"v": 1, "turns": [}'):
        restored = decode(raw)
        assert isinstance(restored, list)
        for turn in restored:
            assert turn['role'] in ('user', 'assistant') and isinstance(turn['text'], str)
            assert isinstance(turn['done'], bool) and isinstance(turn['note'], str) and isinstance(turn['at'], float)
        assert decode(encode(restored)) == restored  # what is written reads back the same


@pytest.fixture
def redis_client(tmp_path):
    server = Redis(tmp_path)
    yield server.client
    server.stop()


def test_redis_store_round_trip_expiry_cap_and_forget(redis_client):
    store = RedisTranscripts(redis_client)
    key = entry_key('s', TAB)
    store.save('s', key, turns(2, 'kept'))
    assert [t['text'] for t in store.load(key)] == ['kept 0', 'kept 1']
    assert 0 < redis_client.ttl(f'voice_ui:transcript:{key}') <= cs.KEEP_S
    keys = [entry_key('s', f'{TAB[:-2]}{i:02d}') for i in range(cs.MAX_TABS + 3)]
    for k in keys:
        store.save('s', k, turns(1))
    assert not store.load(keys[0]) and store.load(keys[-1])
    assert redis_client.zcard(f'voice_ui:transcripts:{cs.scope_key("s")}') == cs.MAX_TABS
    other = entry_key('t', TAB)
    store.save('t', other, turns(1))
    store.forget('s')
    assert not any(store.load(k) for k in keys) and store.load(other)
    store.save('t', other, [])
    assert not store.load(other) and not redis_client.keys('voice_ui:transcript:*')


def texts(user: User) -> list[str]:
    return [e.text for e in user.client.layout.descendants() if isinstance(e, ui.label) and 'vu-text' in e.classes]


async def until(condition, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError('condition not met in time')


async def test_a_reloaded_tab_gets_its_conversation_back_and_close_session_forgets_it(user: User, mint_peer,
                                                                                       monkeypatch):
    monkeypatch.setenv('OPENAI_API_KEY', 'sk-test-keeper')
    monkeypatch.setenv('OPENAI_BASE_URL', mint_peer.url)
    await user.open('/')
    session = user.find(RealtimeSession)
    for item, role, text in (('i1', 'user', 'what is the weather'), ('i2', 'assistant', 'sunny and warm')):
        for word in text.split():
            session.trigger(UiEvent.TRANSCRIPT, {'item_id': item, 'role': role, 'delta': word + ' '})
        session.trigger(UiEvent.TRANSCRIPT, {'item_id': item, 'role': role, 'delta': text, 'replace': True,
                                             'final': True})
    await until(lambda: texts(user) == ['what is the weather', 'sunny and warm'])
    await asyncio.sleep(2.0)  # one coalesced write
    await user.open('/')  # the same tab (the same NiceGUI tab id), rendered anew
    await until(lambda: texts(user) == ['what is the weather', 'sunny and warm'])
    await user.should_see(NOTICE)
    user.find('Close Session').click()
    await until(lambda: texts(user) == [])
    await asyncio.sleep(2.0)
    await user.open('/')
    await asyncio.sleep(1.0)
    assert texts(user) == []  # Close Session ended it: nothing comes back
