"""The attack from issue 9 as a script with no browser: load `/`, join NiceGUI's socket for that page, press
Start Speaking (and ask for a token as the component would), and collect whatever the server sends back.

Host, Origin and extra headers are the attacker's to choose. A control run with legitimate headers proves that the
script really can obtain a token when the server lets it, so a refusal seen in a test is the server's doing.
"""
from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, field

import httpx
import socketio

TOKEN = re.compile(r'ek_[A-Za-z0-9_-]+')
ELEMENTS = re.compile(r'parseElements\(String\.raw`(.*?)`\)', re.S)
CLIENT_ID = re.compile(r"'client_id': '([0-9a-f-]+)'")


@dataclass
class AttackResult:
    page_status: int = 0
    page_url: str = ''
    client_id: str | None = None
    connected: bool = False
    connect_error: str = ''
    received: list = field(default_factory=list)

    def tokens(self) -> list[str]:
        return TOKEN.findall(json.dumps(self.received, default=str))


def listeners(html: str) -> dict[str, list[tuple[int, str]]]:
    """What a script can trigger on the page: {'Start Speaking:click' or 'token_wanted': [(element id, listener)]}."""
    match = ELEMENTS.search(html)
    found: dict[str, list[tuple[int, str]]] = {}
    if not match:
        return found
    for element_id, element in json.loads(match.group(1)).items():
        label = (element.get('props') or {}).get('label')
        for event in element.get('events') or []:
            name = f'{label}:{event["type"]}' if label else event['type']
            found.setdefault(name, []).append((int(element_id), event['listener_id']))
    return found


async def attack(base: str, *, host: str | None = None, origin: str | None = None, headers: dict | None = None,
                 client_id: str | None = None, wait_s: float = 3.0, press: bool = True,
                 reason: str = 'start') -> AttackResult:
    """Run the attack against `base` (http://127.0.0.1:PORT). `client_id` skips loading the page (a stolen id);
    `press=False` only joins the socket; `reason` is what the token request says (prefetch: no Start pressed)."""
    sent = dict(headers or {})
    if host:
        sent['Host'] = host
    if origin:
        sent['Origin'] = origin
    result = AttackResult()
    found: dict = {}
    if client_id is None:
        async with httpx.AsyncClient(base_url=base, headers=sent, follow_redirects=True, timeout=10) as http:
            response = await http.get('/')
        result.page_status, result.page_url = response.status_code, str(response.url)
        match = CLIENT_ID.search(response.text)
        if not match:
            return result
        client_id, found = match.group(1), listeners(response.text)
    result.client_id = client_id
    sio = socketio.AsyncClient(reconnection=False)
    sio.on('*', lambda event, data=None: result.received.append((event, data)))
    query = f'client_id={client_id}&next_message_id=0&implicit_handshake=true&tab_id={uuid.uuid4()}' \
            f'&document_id={uuid.uuid4()}'
    try:
        await sio.connect(f'{base}/?{query}', socketio_path='/_nicegui_ws/socket.io', headers=sent,
                          transports=['websocket'], wait_timeout=5)
    except socketio.exceptions.ConnectionError as error:
        result.connect_error = str(error) or type(error).__name__
        return result
    result.connected = True
    if not press:
        found = {}
    try:
        for element_id, listener_id in found.get('Start Speaking:click', []) if reason == 'start' else []:
            await sio.emit('event', {'id': element_id, 'client_id': client_id, 'listener_id': listener_id,
                                     'args': []})
        for element_id, listener_id in found.get('token_wanted', []):
            await sio.emit('event', {'id': element_id, 'client_id': client_id, 'listener_id': listener_id,
                                     'args': [json.dumps({'reason': reason})]})  # as nicegui.js sends them
        await asyncio.sleep(wait_s)
    finally:
        await sio.disconnect()
    return result


async def ticket_by_script(base: str, password: str, origin: str) -> tuple[httpx.AsyncClient, str]:
    """Sign in as a browser would, over the real socket: type the password, press Sign in, and return the HTTP client
    that loaded the login page (with whatever cookies it got) and the path the page then sends the browser to (the
    one-time ticket), not yet followed. The caller closes the client."""
    http = httpx.AsyncClient(base_url=base, follow_redirects=True, timeout=10)
    response = await http.get('/')
    client_id, found = CLIENT_ID.search(response.text).group(1), listeners(response.text)
    assert any(k.startswith('Password:update:') for k in found), sorted(found)
    opened: list[dict] = []
    sio = socketio.AsyncClient(reconnection=False)
    sio.on('open', lambda data: opened.append(data))
    query = f'client_id={client_id}&next_message_id=0&implicit_handshake=true&tab_id={uuid.uuid4()}' \
            f'&document_id={uuid.uuid4()}'
    await sio.connect(f'{base}/?{query}', socketio_path='/_nicegui_ws/socket.io', headers={'Origin': origin},
                      transports=['websocket'], wait_timeout=5)
    try:
        [(field_id, field_listener)] = next(v for k, v in found.items() if k.startswith('Password:update:'))
        await sio.emit('event', {'id': field_id, 'client_id': client_id, 'listener_id': field_listener,
                                 'args': [json.dumps(password)]})
        [(button_id, button_listener)] = found['Sign in:click']
        await sio.emit('event', {'id': button_id, 'client_id': client_id, 'listener_id': button_listener,
                                 'args': []})
        for _ in range(100):
            if opened:
                break
            await asyncio.sleep(0.05)
    finally:
        await sio.disconnect()
    assert opened, 'the login page did not send the browser on'
    return http, opened[0]['path']


async def sign_in_by_script(base: str, password: str, origin: str) -> httpx.AsyncClient:
    """`ticket_by_script`, then the ticket followed by the same client: it holds the sign-in cookie."""
    http, path = await ticket_by_script(base, password, origin)
    await http.get(path)
    return http
