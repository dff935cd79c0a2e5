"""Real-browser end-to-end plumbing: Debian's Chromium with a fake mic, traffic capture, the server's controls.

Tests start the app exactly as a user does (`python main.py --port P`) and drive the page with Playwright.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import AppProcess as ServerProcess  # noqa: F401  (the one subprocess harness, re-exported)

REALTIME_PATH = '/v1/realtime'


def chromium_path() -> str | None:
    return shutil.which('chromium')


def chromium_args(mic_wav: Path) -> list[str]:
    """RECIPES.md flags; `%noloop` plays the utterance once per getUserMedia, then silence."""
    return ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream',
            '--use-fake-device-for-media-stream', f'--use-file-for-fake-audio-capture={mic_wav}%noloop',
            '--autoplay-policy=no-user-gesture-required']


class LocalServerControl:
    """The embedded server's `/v1/_local/*` endpoints (fault injection and per-session logs)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip('/') + '/v1/_local'

    def sessions(self) -> list[dict]:
        response = httpx.get(self.base + '/sessions', timeout=5)
        response.raise_for_status()
        return response.json()

    def clear_sessions(self) -> None:
        httpx.delete(self.base + '/sessions', timeout=5).raise_for_status()

    def set_faults(self, **faults) -> dict:
        response = httpx.post(self.base + '/faults', json=faults, timeout=5)
        response.raise_for_status()
        return response.json()


@dataclass
class Frame:
    url: str
    direction: str  # 'sent' or 'received'
    payload: str | bytes
    at: float = field(default_factory=time.monotonic)


class Traffic:
    """Everything the page exchanged: WebSocket frames (Realtime and NiceGUI's socket.io) and HTTP responses."""

    def __init__(self, page) -> None:
        self.frames: list[Frame] = []
        self.responses: list = []
        self.sockets: list = []
        page.on('websocket', self._on_websocket)
        page.on('response', lambda response: self.responses.append(response))

    def _on_websocket(self, ws) -> None:
        self.sockets.append(ws)
        ws.on('framesent', lambda payload: self.frames.append(Frame(ws.url, 'sent', payload)))
        ws.on('framereceived', lambda payload: self.frames.append(Frame(ws.url, 'received', payload)))

    def realtime_sockets(self) -> list:
        return [ws for ws in self.sockets if REALTIME_PATH in ws.url]

    def realtime_sent(self, since: int = 0) -> list[dict]:
        """Client events the page sent on Realtime sockets, in order (frames from index `since` on)."""
        return [json.loads(frame.payload) for frame in self.frames[since:]
                if frame.direction == 'sent' and REALTIME_PATH in frame.url]

    def find(self, secret: str) -> list[str]:
        """Where `secret` appears in any frame or HTTP response body the page saw; also how much was scanned."""
        hits = []
        for frame in self.frames:
            text = frame.payload if isinstance(frame.payload, str) else frame.payload.decode('latin-1')
            if secret in text:
                hits.append(f'{frame.direction} frame on {frame.url}')
        for response in self.responses:
            body = self.body(response)
            if body is not None and secret.encode() in body:
                hits.append(f'HTTP response {response.url}')
            if secret in json.dumps(response.headers):
                hits.append(f'HTTP headers {response.url}')
        return hits

    @staticmethod
    def body(response) -> bytes | None:
        try:
            return response.body()
        except Exception:  # redirects and aborted requests have no body
            return None
