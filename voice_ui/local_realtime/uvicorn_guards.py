"""uvicorn protocols that answer or drop bad handshakes instead of holding them forever.

Stock uvicorn (httptools + websockets' sans-I/O protocol) keeps a connection open without a word when a
request head never completes (or nothing is ever sent), and when websockets refuses a handshake it cannot parse
(a header line over 8 KiB: a 64 KB `Sec-WebSocket-Protocol`). These subclasses add, per connection: a deadline
for the request head (`handshake_timeout_s`, then the connection is dropped), a bound on its size
(`max_request_head_bytes`, then HTTP 431), an HTTP 400 for any handshake websockets refuses, and, under either
WebSocket implementation, a bound on what a peer that never reads makes the server hold (non_reader_guard.py).

    uvicorn.run(app, **server_options(limits))   # or ui.run(..., **server_options(limits))
"""
from __future__ import annotations

import asyncio
import json
import logging

from ..protocol import ErrorCode, error_body
from .limits import ServerLimits
from .non_reader_guard import NonReaderGuard, guarded_wsproto, upgrade_class

log = logging.getLogger(__name__)


def server_options(limits: ServerLimits, choose_ws: bool = True) -> dict:
    """Keyword arguments for `uvicorn.Config`/`uvicorn.run`. NiceGUI's `ui.run` passes them on but picks its own
    WebSocket implementation (wsproto, which answers bad handshakes itself): there, `choose_ws=False`."""
    options: dict = {'ws_max_size': limits.ws_max_size, 'h11_max_incomplete_event_size': limits.max_request_head_bytes}
    options['http'] = guarded_http(limits)  # its WebSocket upgrades are guarded too, under NiceGUI's wsproto
    ws = guarded_ws(limits) if choose_ws else None
    if ws is not None:
        options['ws'] = ws
    return options


def http_response(status: int, reason: str, message: str) -> bytes:
    """A complete response in OpenAI's JSON error shape, so every refusal a client sees reads alike."""
    body = json.dumps(error_body(message, code=ErrorCode.INVALID_REQUEST)).encode()
    return (f'HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n'
            f'content-length: {len(body)}\r\nconnection: close\r\n\r\n').encode() + body


def guarded_http(limits: ServerLimits) -> type:
    wsproto_class = guarded_wsproto(limits)  # what upgrades get instead of uvicorn's wsproto protocol
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # no httptools: uvicorn's h11, bounded by h11_max_incomplete_event_size; upgrades guarded
        from uvicorn.protocols.http.h11_impl import H11Protocol

        class GuardedH11Protocol(H11Protocol):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                self.ws_protocol_class = upgrade_class(self.ws_protocol_class, wsproto_class)
        return GuardedH11Protocol

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.ws_protocol_class = upgrade_class(self.ws_protocol_class, wsproto_class)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._head_bytes, self._parsed_head, self._head_too_large, self._head_timer = 0, 0, False, None
            self._start_head()

        def _start_head(self) -> None:
            self._in_head, self._head_bytes = True, 0
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(limits.handshake_timeout_s, self._head_timed_out)

        def _head_timed_out(self) -> None:
            if self._in_head and not self.transport.is_closing():
                log.info('dropping a connection whose request head took over %gs', limits.handshake_timeout_s)
                self.transport.close()

        def _end_head(self) -> None:
            self._in_head = False
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def data_received(self, data: bytes) -> None:
            if self._in_head:
                self._head_bytes += len(data)
            super().data_received(data)
            if self._in_head and self._head_bytes > limits.max_request_head_bytes \
                    and not self.transport.is_closing():
                self._refuse_head()

        def _refuse_head(self) -> None:
            self._end_head()
            self.transport.write(http_response(431, 'Request Header Fields Too Large',
                                               f'The request head exceeds {limits.max_request_head_bytes} bytes.'))
            self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if not self._in_head:  # the next request on a kept-alive connection
                self._start_head()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self._parsed_head += size
            if self._parsed_head > limits.max_request_head_bytes:
                self._head_too_large = True
                raise ValueError('request head too large')  # surfaces as HttpParserCallbackError

        def on_headers_complete(self) -> None:
            self._end_head()
            self._parsed_head = 0
            super().on_headers_complete()

        def send_400_response(self, msg: str) -> None:
            if self._head_too_large:
                self._head_too_large = False
                return self._refuse_head()
            # uvicorn's own answer is plain text; a JSON client (the openai SDK) reads this one
            self.transport.write(http_response(400, 'Bad Request', f'{msg} (the request is not valid HTTP/1.1).'))
            self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._end_head()
            super().connection_lost(exc)

    return GuardedHttpToolsProtocol


def guarded_ws(limits: ServerLimits) -> type | None:
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:
        return None

    class GuardedWebSocketsProtocol(NonReaderGuard, WebSocketsSansIOProtocol):
        """Also: a peer that stops reading stops being read, and is dropped once it has not read for
        `send_stall_timeout_s` (non_reader_guard.py)."""
        stall_timeout_s = limits.send_stall_timeout_s

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self.transport = CoalescingTransport(self.transport)
            self._start_guard()

        def data_received(self, data: bytes) -> None:
            try:
                super().data_received(data)
                refused = getattr(self.conn, 'handshake_exc', None)
            except UnicodeError:  # websockets cannot word its refusal of a header that is not UTF-8
                refused = 'a header is not valid UTF-8'
            if refused is not None and not self.handshake_initiated and not self.transport.is_closing():
                self.transport.write(http_response(400, 'Bad Request', f'WebSocket handshake refused: {refused}'))
                self.transport.close()

        def handle_ping(self) -> None:
            super().handle_ping()
            self._keep_unread_paused()  # the app resumed reading meanwhile: pings alone must not fill the buffer

    return GuardedWebSocketsProtocol


class CoalescingTransport:
    """The connection's transport, with every write of one event-loop turn sent as one: a session releases
    several events at once (a reply's first audio, `response.done` with its rate limits), each its own frame
    and, without this, its own `send` system call. Closing or aborting sends what is pending first."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport, self._pending = transport, bytearray()

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending += data

    def _flush(self) -> None:
        if self._pending and not self._transport.is_closing():
            self._transport.write(bytes(self._pending))
        self._pending.clear()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._flush()
        self._transport.abort()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)
