"""The conversation's memory is bounded by its text, not only by its number of turns: 2,000 turns of 200,000
characters each (the per-turn cut), with as much again waiting as a done event's replacement text, was ~800 MB per
page for a page that streams long transcripts. The count of text kept stays exact whatever the event stream."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from tests.test_reducer_fuzz import component_call, run
from voice_ui.conversation import AGENT, MAX_CONVERSATION_CHARS, MAX_TURN_CHARS, USER, Conversation


def kept_chars(conv: Conversation) -> int:
    return sum(len(t.text) + len(t.replacing or '') for t in conv.turns)


def test_long_transcripts_leave_the_oldest_turns_once_the_text_bound_is_passed():
    conv = Conversation()
    chunk = 'x' * 100_000
    for index in range(200):  # 40 M characters offered, in turns cut at MAX_TURN_CHARS
        item = f'item{index}'
        for _ in range(3):
            conv.transcript(item, USER if index % 2 else AGENT, chunk)
        conv.transcript(item, AGENT, chunk, replace=True)  # a replacement waiting for its final part
    assert kept_chars(conv) <= MAX_CONVERSATION_CHARS + 2 * MAX_TURN_CHARS
    assert conv.turns[-1].item_id == 'item199' and len(conv.turns) < 200  # the newest stay, the oldest went
    assert conv._chars == kept_chars(conv)
    conv.reset()
    assert conv._chars == 0 and conv.turns == []


@settings(max_examples=60, deadline=None)
@given(st.lists(component_call(), min_size=50, max_size=200))
def test_the_kept_text_is_counted_exactly_whatever_the_stream(calls):
    conv = Conversation()
    for call in calls:
        run(conv, call)
    assert conv._chars == kept_chars(conv)
