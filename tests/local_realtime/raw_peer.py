"""A WebSocket peer on a bare socket: it sends any frame (fragments, bad UTF-8, pings, no masking rules obeyed
beyond what the server requires) and reads only when told to, so it can be a peer that never reads."""
from __future__ import annotations

import base64
import os
import socket
import struct
import threading
import time

import numpy as np
import psutil

TEXT, BINARY, CLOSE, PING, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0x0


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A client frame (masked, as RFC 6455 requires of clients)."""
    size = len(payload)
    first = (0x80 if fin else 0) | opcode
    if size < 126:
        head = bytes([first, 0x80 | size])
    elif size < 1 << 16:
        head = bytes([first, 0x80 | 126]) + struct.pack('!H', size)
    else:
        head = bytes([first, 0x80 | 127]) + struct.pack('!Q', size)
    mask = os.urandom(4)
    pattern = np.frombuffer(mask * (size // 4 + 1), dtype=np.uint8)[:size]
    return head + mask + (np.frombuffer(payload, dtype=np.uint8) ^ pattern).tobytes()


def open_raw(base_url: str, headers: dict[str, str], receive_buffer: int | None = None,
             query: str = 'model=gpt-realtime') -> socket.socket:
    """A socket that has sent the upgrade request for `{base_url}/realtime` (the 101 is left unread)."""
    host, port = base_url.split('//')[1].split('/')[0].split(':')
    sock = socket.socket()
    if receive_buffer is not None:  # a small window: the server's sends back up at once
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((host, int(port)))
    lines = [f'GET /v1/realtime?{query} HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade',
             f'Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}', 'Sec-WebSocket-Version: 13',
             *(f'{name}: {value}' for name, value in headers.items())]
    sock.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode())
    return sock


class PeakRss:
    """The process's peak resident memory while in the block, above what it was on entry (the server runs in a
    thread of this process)."""

    def __enter__(self) -> PeakRss:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


def read_frames(sock: socket.socket, seconds: float, skip_head: bool = False,
                count: int | None = None) -> list[tuple[int, bytes]]:
    """(opcode, payload) of the server's frames within `seconds` (unmasked, as servers send them), after the
    HTTP head when `skip_head`; the list ends early at a close frame, the end of the connection or `count`."""
    data, frames, deadline = b'', [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            break
        except OSError:
            chunk = b''
        data += chunk
        if skip_head and b'\r\n\r\n' in data:
            data, skip_head = data.partition(b'\r\n\r\n')[2], False
        while not skip_head and len(data) >= 2:
            size, start = data[1] & 0x7F, 2
            if size == 126:
                size, start = struct.unpack('!H', data[2:4])[0], 4
            elif size == 127:
                size, start = struct.unpack('!Q', data[2:10])[0], 10
            if len(data) < start + size:
                break
            frames.append((data[0] & 0x0F, data[start:start + size]))
            data = data[start + size:]
            if frames[-1][0] == CLOSE or sum(opcode < CLOSE for opcode, _ in frames) == count:
                return frames  # `count` data frames (control frames, like pongs, are not counted)
        if not chunk:
            break
    return frames
