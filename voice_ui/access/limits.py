"""Per-person limits: token mints per minute, voice sessions open at once, failed sign-ins.

A "person" is a limit key: `user:<name>` when signed in, `ip:<address>` otherwise. Everything is in memory
and bounded: keys without recent activity are dropped.
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 50_000
OPEN_STATUSES = frozenset({'connecting', 'reconnecting', 'listening', 'stopping', 'thinking', 'speaking'})
RESERVATION_S = 30.0  # how long a reservation holds when the caller names no lifetime (the status backstop)


class SlidingWindow:
    """At most `limit` events per `window_s` seconds per key."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._events: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float:
        """0 if an event is allowed now, else the seconds until one is."""
        events = self._recent(key)
        if len(events) < self.limit:
            return 0.0
        return max(0.1, events[0] + self.window_s - self.clock())

    def take(self, key: str) -> float:
        """Record an event if one is allowed now (0.0), else the seconds until one is (nothing recorded)."""
        wait = self.retry_after(key)
        if not wait:
            self.record(key)
        return wait

    def record(self, key: str) -> None:
        self._recent(key).append(self.clock())
        if len(self._events) > MAX_KEYS:
            self._prune()

    def _recent(self, key: str) -> deque[float]:
        events = self._events.setdefault(key, deque(maxlen=self.limit))
        cutoff = self.clock() - self.window_s
        while events and events[0] <= cutoff:
            events.popleft()
        return events

    def _prune(self) -> None:
        cutoff = self.clock() - self.window_s
        for key in [k for k, e in self._events.items() if not e or e[-1] <= cutoff]:
            del self._events[key]
        while len(self._events) > MAX_KEYS:  # still too many live keys: forget the oldest
            del self._events[next(iter(self._events))]


class SessionCounter:
    """Which pages of each person have a voice session open, from the statuses the pages mirror, or hold a token
    they have not reported on yet (a reservation, for as long as that token lives: page_tokens.py)."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self._open: dict[str, dict[str, float | None]] = {}  # key -> page id -> reservation expiry, None: open

    def count(self, key: str) -> int:
        pages = self._open.get(key, {})
        now = self.clock()
        for page in [p for p, until in pages.items() if until is not None and until <= now]:
            del pages[page]
        return len(pages)

    def holds(self, key: str, page: str) -> bool:
        return page in self._open.get(key, {})

    def may_open(self, key: str, page: str) -> bool:
        return page in self._open.get(key, {}) or self.count(key) < self.limit

    def try_reserve(self, key: str, page: str, hold_s: float = RESERVATION_S) -> bool:
        """Reserve `page`'s slot for `hold_s` seconds (or longer, if it holds one already) if the person has room
        or the page holds a slot already."""
        if not self.may_open(key, page):
            return False
        self.reserve(key, page, hold_s)
        return True

    def reserve(self, key: str, page: str, hold_s: float = RESERVATION_S) -> None:
        pages = self._open.setdefault(key, {})
        held = pages.get(page, 0.0)
        if held is not None:  # an already open session stays open; a reservation is only ever lengthened
            pages[page] = max(held, self.clock() + hold_s)

    def status(self, key: str, page: str, status: str) -> None:
        if status in OPEN_STATUSES:
            self._open.setdefault(key, {})[page] = None
        else:
            self.release(key, page)

    def release(self, key: str, page: str) -> None:
        pages = self._open.get(key)
        if pages is not None:
            pages.pop(page, None)
            if not pages:
                del self._open[key]


def seconds(value: float) -> int:
    return max(1, math.ceil(value))
