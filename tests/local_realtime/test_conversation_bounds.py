"""A session's conversation stays within its bounds however many items a client adds (the oldest are forgotten),
and user messages may carry `input_image` parts, echoed as sent."""
from __future__ import annotations

import json
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from voice_ui.local_realtime.engine import RealtimeEngine
from voice_ui.local_realtime.limits import ServerLimits
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing

from .raw_peer import TEXT, PeakRss, frame, open_raw
from .serving import API_KEY, serve
from .test_engine import MANUAL, Harness

PNG = ('data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU'
       '5ErkJggg==')


def bounded_harness(items: int, text_bytes: int) -> Harness:
    harness = Harness()
    harness.engine = RealtimeEngine({**MANUAL, 'id': 'sess_bounds'}, 0.0, limits=ServerLimits(
        max_conversation_items=items, max_conversation_bytes=text_bytes))
    return harness


def user_text(text: str, item_id: str) -> dict:
    return {'type': 'conversation.item.create',
            'item': {'id': item_id, 'type': 'message', 'role': 'user', 'content': [{'type': 'input_text',
                                                                                    'text': text}]}}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=60), st.integers(1, 12), st.integers(1000, 8000))
def test_the_conversation_keeps_within_its_bounds_and_the_newest_item_always_stays(sizes, most_items, most_bytes):
    harness = bounded_harness(most_items, most_bytes)
    for index, size in enumerate(sizes):
        harness.send(user_text('w' * size, f'item_{index}'))
        conversation = harness.engine.conversation
        newest = conversation.items[-1]
        assert newest.id == f'item_{index}'
        assert len(conversation.items) <= most_items
        assert sum(item.size() for item in conversation.items) <= most_bytes + newest.size()
        kept = [int(item.id.split('_')[1]) for item in conversation.items]
        assert kept == sorted(kept) and kept == list(range(kept[0], index + 1)), kept  # the oldest go first
    harness.send({'type': 'conversation.item.retrieve', 'item_id': 'item_0', 'event_id': 'ev_old'})
    answer = harness.sent[-1][1]
    assert answer['type'] == ('conversation.item.retrieved' if len(harness.engine.conversation.items) == len(sizes)
                              else 'error')
    harness.send({'type': 'response.create'})  # a forgotten past does not stop the session answering
    harness.advance_to(harness.now + 60)
    assert harness.of_type('response.done')


def read_until_closed(sock) -> None:
    try:
        while sock.recv(1 << 20):
            pass
    except OSError:  # closed by the test: the reading is over
        pass


def test_a_client_adding_megabytes_of_items_cannot_grow_the_servers_memory():
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST))
    with serve(config) as served:
        sock = open_raw(served.url, {'Authorization': f'Bearer {API_KEY}'})
        read = threading.Thread(target=read_until_closed, args=(sock,), daemon=True)
        read.start()  # a client that reads everything: only the conversation can hold on to the text
        text = 'x' * 1_000_000
        with PeakRss() as rss:
            for index in range(200):
                sock.sendall(frame(TEXT, json.dumps(user_text(text, f'item_{index}')).encode()))
            time.sleep(2)
        sock.close()
    # Before: every item was kept, 319 MB for 300 such items; now the 8 MiB of text a session keeps (and what is
    # in flight).
    assert rss.growth_mb < 80, rss.growth_mb


def test_an_input_image_is_kept_echoed_and_retrieved_and_a_bad_one_is_refused_with_its_field():
    harness = Harness()
    parts = [{'type': 'input_text', 'text': 'What is it?'}, {'type': 'input_image', 'image_url': PNG, 'detail': 'low'}]
    harness.send({'type': 'conversation.item.create', 'item': {'id': 'pic', 'type': 'message', 'role': 'user',
                                                               'content': parts}})
    added = harness.of_type('conversation.item.added')[-1][1]['item']
    assert added['content'] == [{'type': 'input_text', 'text': 'What is it?'},
                                {'type': 'input_image', 'image_url': PNG, 'detail': 'low'}]
    harness.send({'type': 'conversation.item.retrieve', 'item_id': 'pic'})
    assert harness.sent[-1][1]['item']['content'] == added['content']
    harness.send({'type': 'conversation.item.create', 'item': {'type': 'message', 'role': 'user', 'content': [
        {'type': 'input_image', 'image_url': PNG}]}})
    assert harness.of_type('conversation.item.added')[-1][1]['item']['content'] == [
        {'type': 'input_image', 'image_url': PNG}]
    harness.send({'type': 'response.create'})
    harness.advance_to(harness.now + 60)
    assert harness.of_type('response.done')[-1][1]['response']['status'] == 'completed'
    for part, param in [({'type': 'input_image'}, 'item.content[0].image_url'),
                        ({'type': 'input_image', 'image_url': 'https://x/a.png'}, 'item.content[0].image_url'),
                        ({'type': 'input_image', 'image_url': PNG, 'detail': 'max'}, 'item.content[0].detail'),
                        ({'type': 'input_image', 'image_url': PNG, 'url': 'x'}, 'item.content[0].url')]:
        harness.send({'type': 'conversation.item.create', 'event_id': 'ev_img', 'item': {
            'type': 'message', 'role': 'user', 'content': [part]}})
        error = harness.sent[-1][1]['error']
        assert error['param'] == param and error['event_id'] == 'ev_img', error
