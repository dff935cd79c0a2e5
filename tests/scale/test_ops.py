"""/metrics is for the operator (direct loopback or the token), its text is Prometheus' format, and its series stay
bounded whatever is counted."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from voice_ui.metrics import MAX_SERIES, Metrics
from voice_ui.ops import may_read_metrics

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[A-Za-z0-9_.:/-]*",?)+\})? -?[0-9.e+]+$')


def scope(peer: str, **headers: str) -> dict:
    return {'client': (peer, 1234), 'headers': [(k.lower().replace('_', '-').encode(), v.encode())
                                                for k, v in headers.items()]}


def test_who_may_read_metrics():
    assert may_read_metrics(scope('127.0.0.1'), '')
    assert may_read_metrics(scope('::1'), '')
    assert not may_read_metrics(scope('127.0.0.1', x_forwarded_for='203.0.113.9'), '')  # via the balancer
    assert not may_read_metrics(scope('10.0.0.5'), '')
    assert may_read_metrics(scope('10.0.0.5', authorization='Bearer s3cret-token'), 's3cret-token')
    assert not may_read_metrics(scope('10.0.0.5', authorization='Bearer wrong'), 's3cret-token')
    assert not may_read_metrics(scope('10.0.0.5', authorization='Bearer '), '')  # no token set: none matches


def test_the_text_format():
    metrics = Metrics()
    metrics.count('voice_ui_refusals_total', reason='mint_limit')
    metrics.count('voice_ui_mints_total', outcome='ok')
    metrics.session('p1', True)
    text = metrics.render({'voice_ui_pages': 3, 'voice_ui_voice_sessions': 1}, {'replica': 'a', 'state': 'redis'})
    assert 'voice_ui_refusals_total{reason="mint_limit"} 1' in text and 'voice_ui_pages 3' in text
    assert 'voice_ui_up{replica="a",state="redis"} 1' in text
    for line in text.splitlines():
        assert line.startswith('# HELP ') or line.startswith('# TYPE ') or SAMPLE.match(line), line


@given(st.lists(st.text(max_size=80), max_size=50))
def test_label_values_cannot_break_the_format_or_grow_without_bound(values):
    metrics = Metrics()
    for value in values * 3 + [str(i) for i in range(MAX_SERIES + 10)]:
        metrics.count('voice_ui_refusals_total', reason=value)
    text = metrics.render({}, {'replica': 'r"\n{}', 'state': 'memory'})
    samples = [line for line in text.splitlines() if not line.startswith('#')]
    assert len(samples) <= MAX_SERIES + 10
    assert all(SAMPLE.match(line) for line in samples), [s for s in samples if not SAMPLE.match(s)][:3]
