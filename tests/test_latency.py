"""Latency arithmetic: the browser's per-turn figures (untrusted), the percentile, the session summary, and how
the Conversation keeps them on the agent cards."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from voice_ui.conversation import AGENT, USER, Conversation
from voice_ui.latency import MAX_MS, TurnLatency, percentile, summarize, summary_text

EVENT = {'turn': 1, 'item_id': 'item_a', 'commit_ms': 118.6, 'transcript_ms': 340, 'audio_ms': 612, 'done_ms': 2400}


def test_an_event_becomes_rounded_milliseconds_and_a_label():
    latency = TurnLatency.from_event(EVENT)
    assert latency == TurnLatency(119, 340, 612, 2400)
    assert latency.label() == 'commit 119 ms · transcript 340 ms · first audio 612 ms · done 2400 ms'


def test_a_stage_that_never_happened_is_left_out_of_the_label():
    latency = TurnLatency.from_event({**EVENT, 'transcript_ms': None})
    assert latency.transcript_ms is None
    assert 'transcript' not in latency.label()


@pytest.mark.parametrize('bad', [-1, MAX_MS + 1, math.nan, math.inf, True, '12', [3], {'a': 1}])
def test_implausible_figures_are_dropped(bad):
    assert TurnLatency.from_event({**EVENT, 'audio_ms': bad}).audio_ms is None


@pytest.mark.parametrize('args', [None, [], 'x', {}, {'commit_ms': -5, 'done_ms': 'soon'}])
def test_an_event_without_any_figure_is_none(args):
    assert TurnLatency.from_event(args) is None


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50), st.floats(0, 1))
def test_percentile_matches_numpy(values, fraction):
    assert percentile(values, fraction) == pytest.approx(float(np.percentile(values, fraction * 100)), rel=1e-9,
                                                        abs=1e-6)


def test_percentile_of_nothing_is_none():
    assert percentile([], 0.5) is None


def test_summary_is_per_stage_over_the_turns_that_have_it():
    turns = [TurnLatency(100, None, 500, 1000), TurnLatency(200, None, 700, 3000), TurnLatency(300, 400, 900, 2000)]
    summary = summarize(turns)
    assert set(summary) == {'commit_ms', 'transcript_ms', 'audio_ms', 'done_ms'}
    assert (summary['commit_ms'].median_ms, summary['commit_ms'].p90_ms) == (200, 280)
    assert summary['transcript_ms'].count == 1 and summary['transcript_ms'].median_ms == 400
    assert summary['done_ms'].median_ms == 2000
    text = summary_text(turns)
    assert text.startswith('Latency over 3 turns — commit: median 200 ms, p90 280 ms')
    assert 'first audio: median 700 ms, p90 860 ms' in text
    assert summary_text([]) == ''


def test_the_conversation_puts_latency_on_the_reply_card_and_keeps_a_summary():
    conv = Conversation()
    conv.transcript('u1', USER, 'hello', final=True)
    conv.transcript('a1', AGENT, 'hi there', final=True)
    conv.record_latency('a1', TurnLatency(100, 200, 300, 900))
    assert conv.turn('a1').latency_label == 'commit 100 ms · transcript 200 ms · first audio 300 ms · done 900 ms'
    assert conv.turn('u1').latency is None
    assert conv.latency_summary.startswith('Latency over 1 turn —')


def test_latency_without_a_known_item_goes_to_the_last_agent_card_without_one_and_never_to_a_user_card():
    conv = Conversation()
    conv.transcript('a1', AGENT, 'first', final=True)
    conv.record_latency('a1', TurnLatency(1, 2, 3, 4))
    conv.transcript('u2', USER, 'again', final=True)
    conv.transcript('a2', AGENT, 'second', final=True)
    conv.record_latency('u2', TurnLatency(5, 6, 7, 8))  # a user item id: not a reply card
    assert conv.turn('a2').latency == TurnLatency(5, 6, 7, 8)
    assert conv.turn('a1').latency == TurnLatency(1, 2, 3, 4)  # never overwritten
    conv.record_latency(None, None)
    assert len(conv.latencies) == 2
    conv.reset()
    assert not conv.latencies and conv.latency_summary == ''


def test_the_kept_latencies_are_bounded():
    conv = Conversation()
    for _ in range(conv.latencies.maxlen + 10):
        conv.record_latency('nowhere', TurnLatency(1, None, None, 2))
    assert len(conv.latencies) == conv.latencies.maxlen
