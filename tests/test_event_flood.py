"""A hostile page floods the component's events: each one must cost Python little whatever came before (the event
loop serves every page of the process), and numbers no browser sends must not raise.

A browser sends one `latency` event per turn; a script can send 2,000 in one batch message, over and over. Each used
to re-sort every kept figure (0.7 s of blocked event loop per message once 2,000 were kept) and to scan all cards.
"""
from __future__ import annotations

import asyncio
import time

from hypothesis import given, settings, strategies as st
from nicegui import Client
from nicegui.events import GenericEventArguments
from nicegui.page import page
from nicegui.testing import User

from tests.test_batch import turn_batches
from tests.test_page import openai_env, transcript_texts  # noqa: F401 (fixture)
from voice_ui.conversation import AGENT, Conversation
from voice_ui.event_budget import EVENTS_PER_SECOND, EventBudget
from voice_ui.latency import TurnLatency, summary_text
from voice_ui.realtime_session import MAX_BATCH_EVENTS, RealtimeSession

HUGE = [10**400, -10**400, 2**63, float('nan'), float('inf'), -float('inf'), 1e308, True, '12', None, [], {}]


def cpu_of(action) -> float:
    started = time.process_time()
    action()
    return time.process_time() - started


def test_latency_floods_cost_the_same_per_event_however_many_came_before():
    conv = Conversation()
    for index in range(300):
        conv.transcript(f'a{index}', AGENT, 'a reply', final=True)
    figures = [TurnLatency(i % 97, i % 89, i % 83, i % 79) for i in range(MAX_BATCH_EVENTS)]

    def batch() -> None:
        for figure in figures:
            conv.record_latency('nowhere', figure)
    batch()  # fills the kept window and every card's latency
    per_batch = min(cpu_of(batch) for _ in range(3))
    assert per_batch < 0.15, f'one batch message of {MAX_BATCH_EVENTS} latency events took {per_batch:.2f} s of CPU'
    assert conv.latency_summary == summary_text(conv.latencies)  # the same summary as from scratch


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(['commit_ms', 'transcript_ms', 'audio_ms', 'done_ms', 'turn', 'item_id']),
                       st.one_of(st.sampled_from(HUGE), st.integers(), st.floats()), max_size=6))
def test_latency_figures_of_any_size_are_kept_or_dropped_never_raised(args):
    latency = TurnLatency.from_event(args)
    assert latency is None or all(v is None or (isinstance(v, int) and 0 <= v <= 3_600_000)
                                  for v in latency.as_dict().values())


def test_numbers_no_browser_sends_do_not_raise_in_the_handlers():
    with Client(page('/'), request=None):
        session = RealtimeSession(ws_url=None, model='gpt-realtime', session={})
    seen = []
    session.on_error(lambda e: seen.append(e.code)).on_latency(lambda e: seen.append(e.turn))
    for value in HUGE:
        for name, args in (('_error', {'source': 'server', 'code': value, 'message': 'm'}),
                           ('_latency', {'turn': value, 'commit_ms': value, 'audio_ms': 5}),
                           ('_status', {'status': 'idle', 'turn': value})):
            getattr(session, name)(GenericEventArguments(sender=session, client=session.client, args=args))
    assert all(isinstance(code, (str, int)) for code in seen) and len(seen) == 2 * len(HUGE)
    assert all(len(code) <= 256 for code in seen if isinstance(code, str))


def new_cards(first: int, count: int) -> list:
    return [['transcript', {'item_id': f'flood{first + k}', 'role': 'user', 'delta': 'x' * 400, 'final': True}]
            for k in range(count)]


async def test_a_flooding_page_is_held_to_its_budget_and_real_use_goes_on(openai_env, user: User):  # noqa: F811
    await user.open('/')
    session = next(iter(user.find(RealtimeSession).elements))
    batch = lambda args: session._batch(GenericEventArguments(sender=session, client=session.client, args=args))  # noqa: E731
    handled = []
    session.on_transcript(lambda e: handled.append(e.item_id))
    started = time.monotonic()
    batch(new_cards(0, MAX_BATCH_EVENTS))  # the burst a budget allows
    flooded = cpu_of(lambda: [batch(new_cards(MAX_BATCH_EVENTS * (1 + i), MAX_BATCH_EVENTS)) for i in range(5)])
    assert flooded < 1.0, f'five more batches of new cards took {flooded:.1f} s of CPU'
    refill = (time.monotonic() - started) * EVENTS_PER_SECOND
    assert MAX_BATCH_EVENTS <= len(handled) <= MAX_BATCH_EVENTS + refill + 1, len(handled)
    await asyncio.sleep(0.3)  # the budget refills (EVENTS_PER_SECOND): a real turn needs a handful of events
    for events in turn_batches():
        batch(events)
    assert transcript_texts(user)[-2:] == ['what is the weather', 'Sunny and warm.']  # after the flood's cards


def test_the_budget_refills_at_its_rate():
    now = [0.0]
    budget = EventBudget(burst=10, per_second=5, clock=lambda: now[0])
    assert sum(budget.take() for _ in range(20)) == 10
    now[0] += 1.0
    assert sum(budget.take() for _ in range(20)) == 5
    now[0] += 100.0
    assert sum(budget.take() for _ in range(20)) == 10  # never more than the burst


def test_time_spent_handling_a_pages_events_refills_nothing():
    """On a slow machine a burst's own handling time earned a flood hundreds more events (and twice the CPU)."""
    now = [0.0]
    budget = EventBudget(burst=10, per_second=5, clock=lambda: now[0])
    for _ in range(10):
        assert budget.take()
        now[0] += 0.5  # each of its events takes half a second to handle
        budget.handled()
    assert not budget.take()  # the 5 s spent on them earned nothing
    now[0] += 1.0
    assert sum(budget.take() for _ in range(20)) == 5  # the idle second did
