"""This replica's counters and gauges, in Prometheus' text exposition format (version 0.0.4).

Written by hand (a few dozen lines) rather than pulling in prometheus_client: the app counts a handful of
things and Prometheus only needs `name{label="value"} number` lines with HELP and TYPE. Label values come from
fixed sets in the code (refusal codes, outcomes), never from requests, so the series stay few and bounded.

    METRICS.count('voice_ui_refusals_total', reason='mint_limit')
    METRICS.render(gauges)   # the /metrics body
"""
from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TypeVar

T, R = TypeVar('T'), TypeVar('R')

HELP = {
    'voice_ui_mints_total': ('counter', 'Ephemeral tokens minted for pages, by outcome (ok, error).'),
    'voice_ui_refusals_total': ('counter', 'Requests and token requests refused, by reason.'),
    'voice_ui_sign_ins_total': ('counter', 'Sign-ins, by outcome (ok, failed).'),
    'voice_ui_realtime_events_total': ('counter', 'Realtime events the pages reported to this replica.'),
    'voice_ui_pages': ('gauge', 'Pages (NiceGUI clients) this replica holds.'),
    'voice_ui_voice_sessions': ('gauge', "Voice sessions open on this replica's pages."),
    'voice_ui_up': ('gauge', 'This replica serves; labels name it and say where access state lives.'),
    'voice_ui_uptime_seconds': ('gauge', 'Seconds since this replica started.'),
}
MAX_SERIES = 1_000  # a bug that made label values unbounded must not make memory unbounded
LABEL_VALUE = re.compile(r'[^A-Za-z0-9_.:/-]')


class Metrics:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self._counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self.open_sessions: set[str] = set()  # page ids whose voice session is open

    def count(self, name: str, amount: int = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        if key in self._counts or len(self._counts) < MAX_SERIES:
            self._counts[key] += amount

    def value(self, name: str, **labels: str) -> int:
        return self._counts[(name, tuple(sorted(labels.items())))]

    def session(self, page: str, is_open: bool) -> None:
        (self.open_sessions.add if is_open else self.open_sessions.discard)(page)

    def render(self, gauges: Mapping[str, float], info: Mapping[str, str]) -> str:
        samples: dict[str, list[str]] = {}
        for (name, labels), amount in sorted(self._counts.items()):
            samples.setdefault(name, []).append(f'{name}{format_labels(dict(labels))} {amount}')
        for name, value in gauges.items():
            samples.setdefault(name, []).append(f'{name} {value:g}')
        samples.setdefault('voice_ui_up', []).append(f'voice_ui_up{format_labels(info)} 1')
        samples.setdefault('voice_ui_uptime_seconds', []).append(
            f'voice_ui_uptime_seconds {time.monotonic() - self.started:.1f}')
        lines = []
        for name, (kind, text) in HELP.items():
            lines += [f'# HELP {name} {text}', f'# TYPE {name} {kind}', *samples.get(name, ())]
            if kind == 'counter' and name not in samples:
                lines.append(f'{name} 0')
        return '\n'.join(lines) + '\n'


def format_labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ''
    return '{' + ','.join(f'{k}="{LABEL_VALUE.sub("_", str(v))[:64]}"' for k, v in sorted(labels.items())) + '}'


METRICS = Metrics()  # one per process, like the NiceGUI app it describes


def counted(handler: Callable[[T], R]) -> Callable[[T], R]:
    """`handler`, counting each call as one Realtime event reported by a page."""
    def count_then_handle(event: T) -> R:
        METRICS.count('voice_ui_realtime_events_total')
        return handler(event)
    return count_then_handle
