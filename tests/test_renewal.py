"""The Python side of session renewal (the browser renews: assets/session-renewal.js): its settings, what the page
hands the component, and how a `reconnected` or `conversation_limit` notice shows (a hint and a card note, never the
error banner). The renewal itself runs in Chromium: tests/e2e/test_rollover.py and test_renewal_units.py."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from nicegui.testing import User

from tests.test_page import feed, openai_env, status, transcript  # noqa: F401 (openai_env is a fixture)
from voice_ui.config import Settings, settings_from_env
from voice_ui.conversation import MAX_MESSAGE_CHARS, Conversation
from voice_ui.protocol import NoticeKind, ServerEvent as S, Status, UiEvent
from voice_ui.realtime_session import RealtimeSession
from voice_ui.renewal import RECONNECTED_NOTE, show_notice

RECONNECTED = 'Reconnected: the voice session reached its time limit (2 earlier turns replayed).'


def conversation_with(*turns: tuple[str, str, str]) -> Conversation:
    conv = Conversation()
    for item_id, role, text in turns:
        conv.transcript(item_id, role, text, replace=True, final=True)
    return conv


def test_reconnected_is_a_hint_and_a_note_on_the_last_card_once():
    conv = conversation_with(('item_u1', 'user', 'Hi'), ('item_a1', 'assistant', 'Hello'))
    conv.turn('item_a1').note = 'interrupted'
    show_notice(conv, NoticeKind.RECONNECTED, RECONNECTED)
    assert conv.notice == RECONNECTED and conv.error == ''
    assert conv.turn('item_a1').note == f'interrupted · {RECONNECTED_NOTE}' and conv.turn('item_u1').note == ''
    show_notice(conv, NoticeKind.RECONNECTED, RECONNECTED)  # a second renewal right after: one note
    assert conv.turn('item_a1').note.count(RECONNECTED_NOTE) == 1


def test_the_note_skips_tool_cards_and_needs_a_card():
    conv = conversation_with(('item_u1', 'user', 'Set a timer'))
    conv.apply({'type': S.OUTPUT_ITEM_DONE, 'item': {'id': 'item_f1', 'type': 'function_call'}})
    show_notice(conv, NoticeKind.RECONNECTED, RECONNECTED)
    assert conv.turn('item_u1').note == RECONNECTED_NOTE and conv.turn('item_f1').note == ''
    empty = Conversation()
    show_notice(empty, NoticeKind.RECONNECTED, RECONNECTED)  # a drop before any turn: the hint alone
    assert empty.notice == RECONNECTED and empty.turns == []


def test_the_conversation_limit_is_an_honest_hint_not_a_note():
    conv = conversation_with(('item_u1', 'user', 'Hi'))
    message = 'This conversation reached its maximum length (240 minutes), so it ended.'
    show_notice(conv, NoticeKind.CONVERSATION_LIMIT, message)
    assert conv.notice == message and conv.turn('item_u1').note == '' and conv.error == ''


@given(kind=st.one_of(st.sampled_from(list(NoticeKind)), st.text(max_size=20), st.none(), st.integers()),
       message=st.one_of(st.text(max_size=2000), st.none(), st.integers(), st.lists(st.text(), max_size=3)))
def test_any_notice_is_bounded_and_never_raises(kind, message):
    conv = conversation_with(('item_u1', 'user', 'Hi'))
    show_notice(conv, kind, message)
    assert isinstance(conv.notice, str) and len(conv.notice) <= MAX_MESSAGE_CHARS
    assert len(conv.turn('item_u1').note) <= len(RECONNECTED_NOTE)


def test_renewal_settings_come_from_the_environment_within_bounds():
    assert Settings().renewal == {'maxConversationMs': 240 * 60_000, 'replayTurns': 40, 'replayChars': 16_000}
    settings = settings_from_env({'VOICE_UI_MAX_CONVERSATION_MINUTES': '90', 'VOICE_UI_REPLAY_TURNS': '0',
                                  'VOICE_UI_REPLAY_CHARS': '500'}, None)
    assert settings.renewal == {'maxConversationMs': 90 * 60_000, 'replayTurns': 0, 'replayChars': 500}
    for name, value in (('VOICE_UI_MAX_CONVERSATION_MINUTES', '0'), ('VOICE_UI_MAX_CONVERSATION_MINUTES', '99999'),
                        ('VOICE_UI_REPLAY_TURNS', '-1'), ('VOICE_UI_REPLAY_CHARS', '1000000')):
        with pytest.raises(SystemExit, match=name):
            settings_from_env({name: value}, None)
    with pytest.raises(SystemExit, match='VOICE_UI_REPLAY_TURNS must be int'):
        settings_from_env({'VOICE_UI_REPLAY_TURNS': 'many'}, None)


@pytest.fixture
def short_conversations(openai_env, monkeypatch):  # noqa: F811
    """Renewal settings in the environment; must come before `user` (the app reads them as it starts)."""
    monkeypatch.setenv('VOICE_UI_MAX_CONVERSATION_MINUTES', '30')
    monkeypatch.setenv('VOICE_UI_REPLAY_TURNS', '12')
    monkeypatch.setenv('VOICE_UI_RECORD_AUDIO_MINUTES', '5')


async def test_the_component_gets_the_renewal_and_recording_options(short_conversations, user: User):
    await user.open('/')
    session = user.find(RealtimeSession).elements.pop()
    assert session.props['renewal'] == {'maxConversationMs': 30 * 60_000, 'replayTurns': 12, 'replayChars': 16_000}
    assert session.props['recordAudioSeconds'] == 5 * 60  # the audio download's cap


async def test_a_renewal_shows_reconnected_on_the_page_and_no_error(openai_env, user: User):  # noqa: F811
    await user.open('/')
    feed(user, {'type': S.INPUT_AUDIO_COMMITTED, 'item_id': 'item_u1', 'previous_item_id': None})
    transcript(user, 'item_u1', 'user', 'what time is it', replace=True, final=True)
    transcript(user, 'item_a1', 'assistant', 'It is noon.', replace=True, final=True)
    status(user, Status.CONNECTING)  # the browser renews: connecting, then idle, then the notice
    status(user, Status.IDLE)
    session = user.find(RealtimeSession)
    session.trigger(UiEvent.NOTICE, {'kind': 'reconnected', 'message': RECONNECTED})
    await user.should_see(RECONNECTED)
    await user.should_see(RECONNECTED_NOTE)
    await user.should_see('It is noon.')
    await user.should_see('what time is it')
    session.trigger(UiEvent.NOTICE, {'kind': 'conversation_limit', 'message': 'This conversation reached its maximum '
                                     'length (30 minutes), so it ended.'})
    await user.should_see('maximum length (30 minutes)')
