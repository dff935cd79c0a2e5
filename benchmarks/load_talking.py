"""Locust users for benchmarks/load_replicas.py: each one is a person talking on a voice page.

    locust -f benchmarks/load_talking.py --headless -u 40 -r 8 -t 60s --host http://127.0.0.1:8080

A session: GET / through the balancer, NiceGUI's socket over a WebSocket (with the balancer's route cookie, as a
browser sends it), Start Speaking, a minted token, status `listening`; then turns of conversation as
assets/voice-session.js forwards them to Python: ~40 component events per 8-second turn (the server events the
reducer needs, and transcripts coalesced per frame; never audio). Each turn times "transcript -> card": from
sending the user transcript's final text to NiceGUI's update that carries it back.
"""
from __future__ import annotations

import json
import re
import time
import uuid

import gevent
import locust
import requests
import socketio
from locust import User, constant, events

ELEMENTS = re.compile(r'parseElements\(String\.raw`(.*?)`\)', re.S)
CLIENT_ID = re.compile(r"'client_id': '([0-9a-f-]+)'")


def listeners(html: str) -> dict[str, list[tuple[int, str]]]:
    """What the page lets a browser trigger: {'Start Speaking:click' or 'token_wanted': [(element, listener)]}."""
    match = ELEMENTS.search(html)
    found: dict[str, list[tuple[int, str]]] = {}
    for element_id, element in (json.loads(match.group(1)) if match else {}).items():
        label = (element.get('props') or {}).get('label')
        for event in element.get('events') or []:
            name = f'{label}:{event["type"]}' if label else event['type']
            found.setdefault(name, []).append((int(element_id), event['listener_id']))
    return found


TURN_S = 8.0


def turn_events(turn: str) -> list[tuple[float, str, dict]]:
    """One conversational turn as (seconds into the turn, component event, its argument), as voice-session.js sends
    them: the few server events the reducer needs (FORWARDED_SERVER_EVENTS) and transcripts coalesced per frame."""
    user, agent, response = f'u{turn}', f'a{turn}', f'r{turn}'

    def server(event: dict) -> dict:
        return {'event_id': f'e{uuid.uuid4().hex[:12]}', **event}

    def message(item_id: str, role: str) -> dict:
        return {'id': item_id, 'type': 'message', 'role': role, 'content': []}
    plan = [(3.0, 'realtime_event', server({'type': 'input_audio_buffer.committed', 'previous_item_id': None,
                                            'item_id': user})),
            (3.0, 'realtime_event', server({'type': 'conversation.item.added', 'item': message(user, 'user')}))]
    plan += [(3.1 + i * 0.05, 'transcript', {'item_id': user, 'role': 'user', 'delta': f'word{i} '})
             for i in range(6)]
    plan += [(3.5, 'transcript', {'item_id': user, 'role': 'user', 'delta': f'marker {turn} please',
                                  'replace': True, 'final': True}),
             (3.8, 'realtime_event', server({'type': 'conversation.item.added', 'item': message(agent, 'assistant')}))]
    plan += [(3.9 + i * 0.16, 'transcript', {'item_id': agent, 'role': 'assistant', 'delta': f'reply{i} '})
             for i in range(25)]
    done = {'id': response, 'status': 'completed', 'output': [],
            'usage': {'total_tokens': 300, 'input_tokens': 200, 'output_tokens': 100,
                      'input_token_details': {'audio_tokens': 150, 'text_tokens': 50, 'cached_tokens': 0},
                      'output_token_details': {'audio_tokens': 80, 'text_tokens': 20}}}
    plan += [(7.9, 'transcript', {'item_id': agent, 'role': 'assistant', 'delta': 'the reply', 'replace': True,
                                  'final': True}),
             (7.9, 'realtime_event', server({'type': 'conversation.item.done', 'item': message(user, 'user')})),
             (7.9, 'realtime_event', server({'type': 'conversation.item.done', 'item': message(agent, 'assistant')})),
             (7.95, 'realtime_event', server({'type': 'response.done', 'response': done}))]
    return plan


class TalkingSession(User):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.http = requests.Session()
        started = time.perf_counter()
        response = self.http.get(self.host + '/', timeout=30)
        self.fire('GET', '/', started, response.status_code == 200)
        self.client_id = CLIENT_ID.search(response.text).group(1)
        self.found = listeners(response.text)
        self.updates: list[tuple[float, str]] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on('*', lambda event, data=None: self.updates.append((time.perf_counter(), json.dumps(data))))
        # websocket-client sends the page's own Origin itself (a second Origin header would be refused)
        cookie = '; '.join(f'{k}={v}' for k, v in self.http.cookies.items())
        started = time.perf_counter()
        self.sio.connect(f'{self.host}/?client_id={self.client_id}&next_message_id=0&implicit_handshake=true'
                         f'&tab_id={uuid.uuid4()}&document_id={uuid.uuid4()}', socketio_path='/_nicegui_ws/socket.io',
                         headers={'Cookie': cookie}, transports=['websocket'], wait_timeout=30)
        self.fire('WS', 'socket', started, True)
        started = time.perf_counter()
        self.emit('Start Speaking:click', [])
        self.emit('token_wanted', [json.dumps({'reason': 'start'})])
        self.fire('EVENT', 'token', started, self.wait_for('ek_', started, 30) is not None)
        self.emit('status', [json.dumps({'status': 'listening'})])

    def on_stop(self) -> None:
        self.sio.disconnect()

    def emit(self, name: str, args: list) -> None:
        for element_id, listener_id in self.found.get(name, []):
            self.sio.emit('event', {'id': element_id, 'client_id': self.client_id, 'listener_id': listener_id,
                                    'args': args})

    def wait_for(self, text: str, since: float, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, payload in self.updates:
                if at >= since and text in payload:
                    return at
            gevent.sleep(0.02)
        return None

    def fire(self, kind: str, name: str, started: float, ok: bool) -> None:
        events.request.fire(request_type=kind, name=name, response_time=(time.perf_counter() - started) * 1000,
                            response_length=0, exception=None if ok else RuntimeError(name), context={})

    @locust.task
    def talk(self) -> None:
        turn = uuid.uuid4().hex[:8]
        begin = time.perf_counter()
        marker_sent = None
        for at, name, argument in turn_events(turn):
            gevent.sleep(max(0.0, begin + at - time.perf_counter()))
            self.emit(name, [json.dumps(argument)])
            if argument.get('final') and argument['role'] == 'user':
                marker_sent = time.perf_counter()
                self.updates.clear()
        seen = self.wait_for(f'marker {turn}', marker_sent, 5.0) if marker_sent else None
        events.request.fire(request_type='TURN', name='transcript -> card',
                            response_time=((seen or time.perf_counter()) - marker_sent) * 1000, response_length=0,
                            exception=None if seen else RuntimeError('no card update'), context={})
        gevent.sleep(max(0.0, begin + TURN_S - time.perf_counter()))
