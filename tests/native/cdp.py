"""A minimal Chrome DevTools Protocol client for QtWebEngine's remote-debugging port.

Playwright's `connect_over_cdp` cannot drive QtWebEngine (it needs browser-context management that QtWebEngine
does not implement), so the test talks to the page target directly: `Runtime.evaluate` is all it needs.
"""
from __future__ import annotations

import itertools
import json
import time

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.support import wait_until


class CdpError(RuntimeError):
    pass


def page_targets(debug_port: int) -> list[dict]:
    targets = httpx.get(f'http://127.0.0.1:{debug_port}/json/list', timeout=2).json()
    return [t for t in targets if t.get('type') == 'page']


def wait_for_page(debug_port: int, url_prefix: str, timeout: float) -> dict:
    """The page target once the window has loaded `url_prefix` (the DevTools port opens before the page)."""
    def loaded_page() -> dict | None:
        try:
            return next((t for t in page_targets(debug_port) if t.get('url', '').startswith(url_prefix)), None)
        except httpx.HTTPError:
            return None
    try:
        return wait_until(loaded_page, timeout, f'a page at {url_prefix} on DevTools port {debug_port}', 0.25)
    except TimeoutError as error:
        raise TimeoutError(str(error)) from None


class Page:
    def __init__(self, target: dict) -> None:
        self.target = target
        self._ids = itertools.count(1)
        # Entered as a context manager: websockets >= 17.1 deprecates a bare connect().
        self._ws: ClientConnection = connect(target['webSocketDebuggerUrl'], max_size=None,
                                             open_timeout=10).__enter__()

    def close(self) -> None:
        self._ws.__exit__(None, None, None)

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, method: str, timeout: float = 10, **params) -> dict:
        call_id = next(self._ids)
        self._ws.send(json.dumps({'id': call_id, 'method': method, 'params': params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get('id') == call_id:  # other messages are events we did not subscribe to
                if 'error' in message:
                    raise CdpError(f'{method}: {message["error"]}')
                return message['result']

    def evaluate(self, expression: str, timeout: float = 10):
        """The JSON value of `expression` in the page (promises awaited); page exceptions raise CdpError."""
        result = self.call('Runtime.evaluate', timeout=timeout, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if 'exceptionDetails' in result:
            details = result['exceptionDetails']
            raise CdpError(details.get('exception', {}).get('description') or details.get('text'))
        return result['result'].get('value')

    def wait_for(self, expression: str, timeout: float, poll: float = 0.2):
        """Poll until `expression` is truthy; returns its value."""
        return wait_until(lambda: self.evaluate(expression), timeout, f'truthy {expression}', poll)

    def click_button(self, label: str) -> None:
        """Click the enabled button whose text contains `label` with real mouse input, so the page gets a user
        gesture (an AudioContext may only start in one), as when a person clicks. textContent, not innerText:
        Quasar upper-cases the rendered label."""
        box = self.evaluate(f'''(() => {{
            const button = [...document.querySelectorAll('button')]
                .find(b => b.textContent.includes({json.dumps(label)}) && !b.disabled);
            if (!button) return null;
            button.scrollIntoView({{block: 'center'}});
            const r = button.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()''')
        if not box:
            raise CdpError(f'no enabled button labelled {label!r}')
        for kind in ('mousePressed', 'mouseReleased'):
            self.call('Input.dispatchMouseEvent', type=kind, x=box['x'], y=box['y'], button='left', clickCount=1)
