"""A WebSocket relay between a client library under test and the embedded server that keeps every event each way.

Clients such as pipecat own their socket and parse what they receive leniently (or drop what they do not know), so
the test cannot read the raw stream from them. The relay passes each frame through unchanged, headers and query
included, and keeps a copy: the test then validates every server event strictly against the GA types and pairs
every client event with the `error` that refused it, if any.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

import websockets
from websockets.asyncio.server import ServerConnection, serve

from tests.protocol_validation import validate_client_event, validate_server_event


@dataclass
class EventTap:
    upstream: str                                   # ws://host:port (the embedded server), paths are kept
    client_events: list[dict] = field(default_factory=list)
    server_events: list[dict] = field(default_factory=list)
    url: str = ''                                   # ws://127.0.0.1:<port>: where the client connects

    async def __aenter__(self) -> EventTap:
        self._server = await serve(self._relay, '127.0.0.1', 0, max_size=None)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f'ws://127.0.0.1:{port}'
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _relay(self, downstream: ServerConnection) -> None:
        request = downstream.request
        forwarded = {name: value for name, value in request.headers.raw_items() if name.lower() == 'authorization'}
        async with websockets.connect(self.upstream + request.path, additional_headers=forwarded,
                                      max_size=None) as upstream:
            async def pump(source, sink, kept: list[dict]) -> None:
                with contextlib.suppress(websockets.ConnectionClosed):
                    async for message in source:
                        kept.append(json.loads(message))
                        await sink.send(message)
                await sink.close()
            await asyncio.gather(pump(downstream, upstream, self.client_events),
                                 pump(upstream, downstream, self.server_events))

    def of(self, event_type: str) -> list[dict]:
        return [event for event in self.server_events if event['type'] == event_type]

    def sent(self, event_type: str) -> list[dict]:
        return [event for event in self.client_events if event['type'] == event_type]

    def validate(self) -> None:
        """Every server event against the GA types, strictly (PROTOCOL.md §6), and every client event too: a
        client that sends a non-GA shape is caught here, whatever the server made of it."""
        for server_event in self.server_events:
            validate_server_event(server_event)
        for client_event in self.client_events:
            validate_client_event(client_event)

    def refusals(self) -> list[tuple[str, str]]:
        """(client event type, error code) for each client event the server refused, paired by `event_id`; an
        error that answers no client event the client sent is reported with the type `None`."""
        by_id = {event.get('event_id'): event['type'] for event in self.client_events}
        return [(by_id.get(error['error'].get('event_id')), error['error']['code']) for error in self.of('error')]
