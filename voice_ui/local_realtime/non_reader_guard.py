"""WebSocket peers that do not read what they are sent: they stop being read, then are dropped.

uvicorn answers every ping at once, whatever its WebSocket implementation, and nothing else stops a peer that never
reads: each ping's pong lands in the send buffer, so a ping flood grows the server's memory for as long as the peer
keeps sending (~1 MB a MB of pings), and no message of the app's ever waits, so no app-level send timeout sees it.
`NonReaderGuard` bounds it in the protocol itself: when the send buffer passes the transport's high-water mark
(asyncio calls `pause_writing`, pongs included) reading pauses, so the peer's pings wait in its own socket buffer
and the kernel's, not in ours; and a peer that has not drained the buffer after `send_stall_timeout_s` is dropped.

Mixed into the standalone server's websockets protocol (`uvicorn_guards.guarded_ws`) and, for NiceGUI, which runs
uvicorn's wsproto protocol, into a wsproto subclass that the guarded HTTP protocol hands its upgrades to.
"""
from __future__ import annotations

import asyncio
import logging

from .limits import ServerLimits

log = logging.getLogger(__name__)


class NonReaderGuard:
    """Mixin for a uvicorn WebSocket protocol (it has `transport`, `loop`, `read_paused`); listed before it."""

    stall_timeout_s: float = 30.0  # set per server by the factories below

    def _start_guard(self) -> None:
        self._stall_timer: asyncio.TimerHandle | None = None
        self._unread = False  # reading paused because the peer does not read what we send

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[misc]
        self._unread = True
        self.transport.pause_reading()  # type: ignore[attr-defined]
        if self._stall_timer is None:
            self._stall_timer = self.loop.call_later(self.stall_timeout_s, self._stalled)  # type: ignore[attr-defined]

    def resume_writing(self) -> None:
        super().resume_writing()  # type: ignore[misc]
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if self._unread:
            self._unread = False
            if not self.read_paused:  # type: ignore[attr-defined]  # else the app resumes it when it takes a message
                self.transport.resume_reading()  # type: ignore[attr-defined]

    def _keep_unread_paused(self) -> None:
        """uvicorn resumes reading when the app takes a queued message: not while the peer reads nothing."""
        if self._unread:
            self.transport.pause_reading()  # type: ignore[attr-defined]

    def _stalled(self) -> None:
        self._stall_timer = None
        log.info('dropping a WebSocket peer that read nothing for %gs', self.stall_timeout_s)
        self.transport.abort()  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        super().connection_lost(exc)  # type: ignore[misc]


def guarded_wsproto(limits: ServerLimits) -> type | None:
    """uvicorn's wsproto protocol (NiceGUI's choice) with the guard, or None without wsproto."""
    try:
        from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
    except ImportError:
        return None

    class GuardedWSProtocol(NonReaderGuard, WSProtocol):
        stall_timeout_s = limits.send_stall_timeout_s
        replaces = WSProtocol

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_guard()

        def handle_ping(self, event) -> None:
            super().handle_ping(event)
            self._keep_unread_paused()

        async def receive(self):
            message = await super().receive()
            self._keep_unread_paused()  # no await between its resume_reading and this: no byte is read in between
            return message

    return GuardedWSProtocol


def upgrade_class(ws_protocol_class: type | None, guarded_wsproto_class: type | None) -> type | None:
    """The WebSocket protocol an HTTP connection upgrades to: uvicorn's wsproto one becomes its guarded subclass
    (NiceGUI names 'wsproto' itself, so it cannot be chosen through `ws=`); any other is kept."""
    if guarded_wsproto_class is not None and ws_protocol_class is guarded_wsproto_class.replaces:
        return guarded_wsproto_class
    return ws_protocol_class
