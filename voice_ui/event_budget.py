"""How many component events (`RealtimeSession`'s status, transcript, server events, ...) Python handles for one
page: a token bucket.

A page sends a few events a second (assets/python-link.js batches a 50 ms window and coalesces transcript deltas),
so the budget never touches real use. A script joining the socket can send 2,000 events per message, message after
message, and some events cost milliseconds (a new transcript card is a handful of NiceGUI elements): unbounded, one
hostile tab held the event loop that serves every page for seconds per message. Past the budget the events are
dropped (each counted in /metrics as a refusal, `reason="event_flood"`) until it refills.

It refills only while none of the page's events is being handled (`handled()` marks the end of one): time spent on
its own events earned a flood more of them, so on a slower machine (cards costing 3 ms rather than 1.7) the 2,000
cards of a burst let ~600 more through in the next message and a flood cost twice the CPU.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from .metrics import METRICS

EVENT_BURST = 2_000          # as many as one batch may hold (realtime_session.MAX_BATCH_EVENTS)
EVENTS_PER_SECOND = 100      # sustained: several times a busy real page


class EventBudget:
    def __init__(self, burst: int = EVENT_BURST, per_second: float = EVENTS_PER_SECOND,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.per_second, self.clock = burst, per_second, clock
        self._tokens, self._at = float(burst), clock()
        self.dropped = 0  # events refused so far

    def take(self) -> bool:
        """True if one more event may be handled now (and it is counted), else False."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self.dropped += 1
        METRICS.count('voice_ui_refusals_total', reason='event_flood')
        return False

    def handled(self) -> None:
        """An event taken has been handled: the time that took refills nothing."""
        self._at = self.clock()
