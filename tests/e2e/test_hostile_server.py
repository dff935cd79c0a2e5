"""Issue 15: a hostile Realtime server against the real page (Chromium, the real app). Playwright stands in for
the server on the page's Realtime socket and answers a turn with malformed frames of every kind, then with a
reply whose transcript is far larger than one NiceGUI socket message: no page error, no stuck state, and the
huge text reaches Python split, not dropped."""
from __future__ import annotations

import base64
import json
import re

import pytest

from voice_ui.conversation import MAX_TURN_CHARS

from .conftest import open_voice_page, running_app

HUGE_TEXT = 'word ' * 200_000  # 1 MB: over NiceGUI's 1 MB socket message limit on its own
SILENCE_100MS = base64.b64encode(bytes(4800)).decode()


def malformed_frames() -> list[str]:
    events = [
        {'type': None}, {'type': {'a': 1}}, {'type': 'x' * 500}, {},
        {'type': 'response.output_audio.delta', 'response_id': 'resp_h', 'item_id': 'item_h',
         'delta': '!!not base64!!'},
        {'type': 'response.output_audio.delta', 'response_id': {'$': 1}, 'delta': 'AAAA'},
        {'type': 'response.output_audio.delta', 'response_id': 'resp_h', 'delta': None},
        {'type': 'response.output_audio.delta', 'response_id': 'resp_h', 'delta': 'A'},  # odd length, half a sample
        {'type': 'response.created', 'response': None}, {'type': 'response.created', 'response': {'id': ['x']}},
        {'type': 'conversation.item.added', 'item': {'id': {'evil': True}, 'role': 'user', 'type': 'message'}},
        {'type': 'conversation.item.added', 'item': 'item', 'previous_item_id': 7},
        {'type': 'input_audio_buffer.committed', 'item_id': 12},
        {'type': 'response.output_audio_transcript.delta', 'item_id': {'x': 1}, 'delta': 'a'},
        {'type': 'response.output_audio_transcript.delta', 'item_id': 'item_h', 'delta': {'text': 'a'}},
        {'type': 'conversation.item.input_audio_transcription.completed', 'item_id': 'item_u1', 'transcript': 5},
        {'type': 'error', 'error': None}, {'type': 'error', 'error': {'code': {'x': 1}, 'message': ['m']}},
        {'type': 'response.done', 'response': 'done'},
        {'type': 'response.done', 'response': {'id': 5, 'output': 'x', 'usage': {'input_tokens': 'many'}}},
        {'type': 'response.done', 'response': {'output': [{'id': {'a': 1}}], 'status': ['failed']}},
        {'type': 'conversation.item.deleted', 'item_id': None},
    ]
    deep = '{"type": "conversation.item.done", "item": ' + '{"a": ' * 3000 + '1' + '}' * 3000 + '}'
    return ['null', '[]', '5', '"text"', 'not json', '{"type": "error"', deep, *map(json.dumps, events)]


class HostileServer:
    """Answers session.update, commit and response.create; every answer comes after a volley of bad frames."""

    def __init__(self) -> None:
        self.received: list[dict] = []

    def __call__(self, ws) -> None:
        ws.on_message(lambda message: self.on_message(ws, message))
        ws.send(json.dumps({'type': 'session.created', 'event_id': 'e0', 'session': {'type': 'realtime'}}))

    def on_message(self, ws, message) -> None:
        event = json.loads(message)
        self.received.append(event)
        kind = event['type']
        for frame in malformed_frames() if kind != 'input_audio_buffer.append' else []:
            ws.send(frame)
        if kind == 'input_audio_buffer.commit':
            ws.send(json.dumps({'type': 'input_audio_buffer.committed', 'event_id': 'e1', 'item_id': 'item_u1',
                                'previous_item_id': None}))
        elif kind == 'response.create':
            self.reply(ws)

    def reply(self, ws) -> None:
        ids = {'response_id': 'resp_1', 'item_id': 'item_a1', 'output_index': 0, 'content_index': 0}
        item = {'id': 'item_a1', 'type': 'message', 'role': 'assistant', 'status': 'in_progress', 'content': []}
        for event in [
            {'type': 'response.created', 'response': {'id': 'resp_1', 'status': 'in_progress', 'output': []}},
            {'type': 'conversation.item.added', 'previous_item_id': 'item_u1', 'item': item},
            {'type': 'response.output_audio_transcript.delta', **ids, 'delta': HUGE_TEXT},
            *[{'type': 'response.output_audio.delta', **ids, 'delta': SILENCE_100MS} for _ in range(3)],
            {'type': 'response.output_audio.done', **ids},
            {'type': 'response.output_audio_transcript.done', **ids, 'transcript': HUGE_TEXT},
            {'type': 'response.done', 'response': {'id': 'resp_1', 'status': 'completed',
                                                   'output': [{**item, 'status': 'completed'}]}},
        ]:
            ws.send(json.dumps({'event_id': 'e', **event}))
            for frame in malformed_frames()[:8]:
                ws.send(frame)


@pytest.fixture(scope='module')
def app():
    with running_app('hostile-app') as app:
        yield app


def test_a_hostile_server_cannot_break_the_page(playwright, chromium, app):
    browser, voice = open_voice_page(playwright, chromium, 'weather', app.url)
    server = HostileServer()
    try:
        voice.page.route_web_socket(re.compile(r'.*/v1/realtime.*'), server)
        voice.start_speaking()
        voice.page.wait_for_timeout(800)
        voice.stop_speaking()
        stats = voice.wait_for('s.status === "idle" && s.lastPlayback !== null', timeout_ms=30_000)
        assert stats['lastPlayback']['frames_played'] == 3 * 2400, stats['lastPlayback']
        card = voice.page.locator('.vu-turn-assistant .vu-text').first
        voice.page.wait_for_function('document.querySelector(".vu-turn-assistant .vu-text")?.innerText.length '
                                     f'>= {MAX_TURN_CHARS}', timeout=30_000)  # all parts arrived (capped in Python)
        text = card.inner_text()
        assert text.startswith('word word') and len(text) >= MAX_TURN_CHARS - 10, len(text)
        assert [e['type'] for e in server.received].count('response.create') == 1
        voice.turn(0.6)  # and a second turn works on the same socket
    finally:
        browser.close()
    page_errors = [line for line in voice.console if line.startswith('pageerror') or 'could not be handled' in line]
    assert page_errors == [], page_errors
