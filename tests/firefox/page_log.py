"""What the pages logged, from Firefox's WebDriver BiDi `log.entryAdded` on the Marionette session's own socket:
console calls and uncaught errors (also unhandled rejections), page content only, from before the first page
script runs. Marionette itself has no event for them, and an `onerror` hook added after navigation would miss
every error thrown while the modules load."""
from __future__ import annotations

import json
import threading

MAX_ENTRIES = 1000  # a page logging in a loop must not grow the test's memory without end


class PageLog:
    def __init__(self, websocket_url: str) -> None:
        from websockets.sync.client import connect
        self.entries: list[dict] = []
        self.dropped = 0
        self._socket = connect(websocket_url, open_timeout=10, max_size=2 ** 22)
        self._socket.send(json.dumps({'id': 1, 'method': 'session.subscribe',
                                      'params': {'events': ['log.entryAdded']}}))
        answer = json.loads(self._socket.recv(timeout=10))
        if answer.get('type') != 'success':
            raise RuntimeError(f'BiDi log subscription refused: {answer}')
        self._reader = threading.Thread(target=self._read, name='firefox-page-log', daemon=True)
        self._reader.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed
        try:
            for message in self._socket:
                event = json.loads(message)
                if event.get('method') != 'log.entryAdded':
                    continue
                if len(self.entries) < MAX_ENTRIES:
                    self.entries.append(event['params'])
                else:
                    self.dropped += 1
        except ConnectionClosed:  # the browser went away: nothing more to read
            pass

    def problems(self) -> list[str]:
        """Every error-level entry, and voice-ui's own warnings (e.g. "voice-ui: worklets failed to load")."""
        return [f'{entry.get("type")}/{entry.get("level")}: {entry.get("text")} {where(entry)}'
                for entry in self.entries
                if entry.get('level') == 'error'
                or (entry.get('level') == 'warn' and str(entry.get('text', '')).startswith('voice-ui'))]

    def close(self) -> None:
        self._socket.close()
        self._reader.join(5)


def where(entry: dict) -> str:
    frames = (entry.get('stackTrace') or {}).get('callFrames') or [{}]
    top = frames[0]
    return f'at {top.get("url", "?")}:{top.get("lineNumber", "?")}' if top else ''
