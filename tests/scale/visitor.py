"""A person without a browser, through the balancer: one cookie jar (nginx's route cookie and the sign-in), pages
loaded over HTTP and driven over NiceGUI's socket exactly as nicegui.js does (query, implicit handshake, events)."""
from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field

import httpx
import socketio

from tests.access_attacker import CLIENT_ID, TOKEN, listeners


@dataclass
class Page:
    client_id: str
    found: dict
    sio: socketio.AsyncClient | None = None
    received: list = field(default_factory=list)
    refused: str = ''  # the connect_error message, when the server would not bind the socket

    def tokens(self) -> list[str]:
        return TOKEN.findall(json.dumps(self.received, default=str))

    def text(self) -> str:
        return json.dumps(self.received, default=str)


class Visitor:
    def __init__(self, base: str, route: str) -> None:
        self.base = base
        self.tab_id = str(uuid.uuid4())  # one browser tab: NiceGUI keeps its id in sessionStorage across reloads
        self.http = httpx.AsyncClient(base_url=base, follow_redirects=True, timeout=15,
                                      cookies={'voice_ui_route': route})

    def route(self, route: str) -> None:
        self.http.cookies.set('voice_ui_route', route)

    @property
    def cookie_header(self) -> str:
        return '; '.join(f'{c.name}={c.value}' for c in self.http.cookies.jar)

    async def open(self, path: str = '/') -> tuple[httpx.Response, Page | None]:
        response = await self.http.get(path)
        match = CLIENT_ID.search(response.text)
        return response, Page(match.group(1), listeners(response.text)) if match else None

    async def join(self, page: Page) -> Page:
        page.sio = socketio.AsyncClient(reconnection=False)
        page.sio.on('*', lambda event, data=None: page.received.append((event, data)))
        page.sio.on('connect_error', lambda data=None: setattr(page, 'refused', refusal(data)))
        query = f'client_id={page.client_id}&next_message_id=0&implicit_handshake=true&tab_id={self.tab_id}' \
                f'&document_id={uuid.uuid4()}'
        try:
            await page.sio.connect(f'{self.base}/?{query}', socketio_path='/_nicegui_ws/socket.io',
                                   headers={'Origin': self.base, 'Cookie': self.cookie_header},
                                   transports=['websocket'], wait_timeout=5)
        except socketio.exceptions.ConnectionError as error:
            page.refused = page.refused or str(error)
        return page

    async def emit(self, page: Page, name: str, args: list) -> None:
        for element_id, listener_id in page.found.get(name, []):
            await page.sio.emit('event', {'id': element_id, 'client_id': page.client_id,
                                          'listener_id': listener_id, 'args': args})

    async def start_speaking(self, page: Page, wait_s: float = 2.0) -> Page:
        """Press Start Speaking and ask for a token as the component does; wait for what comes back."""
        await self.emit(page, 'Start Speaking:click', [])
        await self.emit(page, 'token_wanted', [json.dumps({'reason': 'start'})])
        await wait_for(lambda: page.tokens() or 'limit' in page.text(), wait_s)
        return page

    async def say(self, page: Page, item_id: str, role: str, text: str) -> None:
        """A turn's transcript as the component sends it: a few coalesced deltas, then the done text."""
        for word in text.split():
            await self.emit(page, 'transcript', [json.dumps({'item_id': item_id, 'role': role, 'delta': word + ' '})])
        await self.emit(page, 'transcript', [json.dumps({'item_id': item_id, 'role': role, 'delta': text,
                                                         'replace': True, 'final': True})])

    async def report_status(self, page: Page, status: str) -> None:
        await self.emit(page, 'status', [json.dumps({'status': status})])

    async def sign_in(self, name: str, password: str) -> None:
        response, page = await self.open('/')
        assert page and any(k.startswith('Password:update:') for k in page.found), response.url
        opened: list[dict] = []
        page.sio = socketio.AsyncClient(reconnection=False)
        page.sio.on('open', lambda data: opened.append(data))
        await self.join_existing(page)
        for label, value in (('Name', name), ('Password', password)):
            for key in page.found:
                if key.startswith(f'{label}:update:'):
                    await self.emit(page, key, [json.dumps(value)])
        await self.emit(page, 'Sign in:click', [])
        await wait_for(lambda: opened, 10)
        await page.sio.disconnect()
        assert opened, 'the login page did not send the browser on'
        await self.http.get(opened[0]['path'])

    async def join_existing(self, page: Page) -> None:
        query = f'client_id={page.client_id}&next_message_id=0&implicit_handshake=true&tab_id={self.tab_id}' \
                f'&document_id={uuid.uuid4()}'
        await page.sio.connect(f'{self.base}/?{query}', socketio_path='/_nicegui_ws/socket.io',
                               headers={'Origin': self.base, 'Cookie': self.cookie_header},
                               transports=['websocket'], wait_timeout=5)

    async def close(self, *pages: Page) -> None:
        for page in pages:
            if page.sio is not None and page.sio.connected:
                await page.sio.disconnect()
        await self.http.aclose()


def refusal(data) -> str:
    """The server's words, as nicegui.js reads them (`err.message`)."""
    return str(data.get('message', data)) if isinstance(data, dict) else str(data)


async def wait_for(check, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
