"""Cutting a connection without a close frame, for the `drop_after_audio_deltas` fault."""
from __future__ import annotations

import contextlib

from starlette.websockets import WebSocket


def abort_transport(websocket: WebSocket) -> bool:
    """Cut the TCP connection without a close frame (the client sees 1006), like a network failure.

    ASGI offers no such thing, so look for the server's transport behind the (possibly wrapped) send callable.
    """
    seen, frontier = set(), [getattr(websocket, '_send', None)]
    for _ in range(8):
        found = []
        for obj in frontier:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            transport = getattr(obj, 'transport', None)
            if transport is not None and hasattr(transport, 'abort'):
                transport.abort()
                return True
            found += [getattr(obj, '__self__', None), getattr(obj, '__wrapped__', None)]
            found += closure_values(obj)
        frontier = [obj for obj in found if obj is not None]
    return False


def closure_values(function: object) -> list[object]:
    values = []
    for cell in getattr(function, '__closure__', None) or ():
        with contextlib.suppress(ValueError):  # an empty cell
            values.append(cell.cell_contents)
    return [value for value in values if not isinstance(value, (str, bytes, int, float, dict))]
