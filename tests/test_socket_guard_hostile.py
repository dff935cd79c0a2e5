"""A hostile page's socket messages, as NiceGUI's socket.io handlers receive them once the socket is bound to the
page (the guard's own room check passed): ids that are objects, arguments that are not JSON, unknown listeners,
handshakes missing fields, log lines with control characters. The guard drops them without an exception in
socket.io's task, and the page still answers a well-formed event afterwards."""
from __future__ import annotations

import json
import logging

from hypothesis import HealthCheck, given, settings, strategies as st
from nicegui import core
from nicegui.testing import User

from tests.test_page import openai_env  # noqa: F401 (fixture)
from voice_ui.access import socket_guard
from voice_ui.realtime_session import RealtimeSession

SID = 'hostile-socket'
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


def drawn(strategy, count: int) -> list:
    """`count` examples drawn by hypothesis (the handlers are async, so they are fed after drawing)."""
    found: list = []

    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(strategy)
    def keep(example) -> None:
        found.append(example)
    keep()
    return found


async def test_malformed_messages_are_dropped_and_the_page_goes_on(openai_env, user: User, monkeypatch, caplog):  # noqa: F811
    await user.open('/')
    client = user.client
    session = next(iter(user.find(RealtimeSession).elements))
    status_listener = next(k for k, v in session._event_listeners.items() if v.type == 'status')
    monkeypatch.setattr(core.sio, 'rooms', lambda sid, namespace=None: [client.id] if sid == SID else [])
    handlers = core.sio.handlers['/']
    ids = st.one_of(st.sampled_from([session.id, 0, -1, 10**30]), JSON)
    listeners = st.one_of(st.sampled_from([status_listener, 'nope']), JSON)
    args = st.one_of(st.lists(st.one_of(st.sampled_from(['{', '"x"', 'NaN', '[1,', '{"status": 5}']), JSON),
                              max_size=3), JSON)
    event = st.fixed_dictionaries({'client_id': st.just(client.id), 'id': ids, 'listener_id': listeners, 'args': args})
    other = st.fixed_dictionaries({'client_id': st.just(client.id)}, optional={
        'request_id': JSON, 'next_message_id': st.one_of(JSON, st.just('7')), 'level': st.one_of(
            st.sampled_from(['error', 'critical']), JSON), 'message': st.one_of(JSON, st.just('forged\nERROR x'))})
    caplog.set_level(logging.DEBUG)
    for msg in drawn(event, 300):
        await handlers['event'](SID, msg)
    for msg in drawn(other, 200):
        for name in ('javascript_response', 'ack', 'log'):
            await handlers[name](SID, dict(msg))
    for data in drawn(st.one_of(JSON, st.fixed_dictionaries({'client_id': st.just(client.id)}, optional={
            'tab_id': JSON, 'document_id': JSON, 'next_message_id': JSON, 'old_tab_id': JSON})), 200):
        assert await socket_guard._handshake(SID, data) is False or data.get('tab_id')
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a page's report is a warning at most
    forged = [r.getMessage() for r in caplog.records if 'forged' in r.getMessage()]
    assert forged and all(m == 'browser: forged ERROR x' for m in forged)  # said to be the page's, on one line
    await handlers['event'](SID, {'client_id': client.id, 'id': session.id, 'listener_id': status_listener,
                                  'args': [json.dumps({'status': 'listening', 'turn': 1})]})
    await user.should_see('Listening')
