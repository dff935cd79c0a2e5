"""Issue 13, first parts, in real Chromium against the real app (embedded server): a typed turn, and a hands-free
turn taken without a Start or Stop click (the server's VAD finds the speech in the fake mic's silence-padded WAV).
Each test opens its own browser, so that the fake mic speaks once for it."""
from __future__ import annotations

import pytest

from tests.protocol_validation import validate_client_event
from voice_ui.protocol import ClientEvent, ServerEvent

from .checks import assert_ga_client_events, assert_played_fully
from .conftest import screenshot
from .test_embedded_app import assert_heard_whole_sentence, uses_speech_models

TYPED = 'What is the weather like on the moon?'


@pytest.fixture
def voice(fresh_weather_voice):
    return fresh_weather_voice


def wait_played(voice, status: str) -> dict:
    """A reply was played to its end and the status came back to `status`."""
    return voice.wait_for(f's.status === {status!r} && s.lastPlayback !== null')


def server_events(control) -> list[str]:
    [log] = control.sessions()
    return log['server_events']


def test_a_typed_turn_gets_a_reply(voice, control):
    box = voice.page.get_by_role('textbox', name='Message')
    box.fill(TYPED)
    box.press('Enter')  # no Start click: the first message connects the session
    stats = wait_played(voice, 'idle')

    sent = voice.traffic.realtime_sent()
    assert_ga_client_events(sent)
    types = [e['type'] for e in sent]
    assert types[-2:] == [ClientEvent.ITEM_CREATE, ClientEvent.RESPONSE_CREATE], types
    item = sent[-2]['item']
    assert item['role'] == 'user' and item['content'] == [{'type': 'input_text', 'text': TYPED}], item
    assert ClientEvent.INPUT_AUDIO_APPEND not in types, 'a typed turn sends no audio'
    assert_played_fully(stats)

    voice.page.locator('.vu-turn-assistant .vu-text').first.wait_for()
    assert voice.cards('user') == [TYPED]
    assert voice.cards('assistant')[0].strip()
    assert box.input_value() == '', 'Send clears the box'
    assert voice.page.get_by_role('log').count() == 1

    # A second message on the same socket, this time with the Send button.
    box.fill('And on Mars?')
    voice.click('Send')
    voice.page.wait_for_function('document.querySelectorAll(".vu-turn-assistant").length > 1', timeout=60_000)
    assert len(control.sessions()) == 1, 'the second message must not reconnect'
    assert voice.cards('user') == [TYPED, 'And on Mars?']
    screenshot(voice.page, 'e2e-typed-turn.png')


def test_a_hands_free_turn_commits_and_gets_a_reply_without_clicks(voice, control):
    voice.page.get_by_role('switch', name='Hands-free').click()  # the one gesture: no Start, no Stop
    voice.wait_for('s.vadTurns >= 1', timeout_ms=20_000)
    stats = voice.wait_for('s.status === "listening" && s.lastPlayback !== null && s.capturing')
    assert stats['handsFree'] and stats['micActive']

    sent = voice.traffic.realtime_sent()
    for event in sent:
        validate_client_event(event)
    assert sent[0]['type'] == ClientEvent.SESSION_UPDATE
    assert sent[0]['session']['audio']['input']['turn_detection']['type'] == 'server_vad'
    types = [e['type'] for e in sent]
    # The server's VAD ended the turn and created the reply: the page neither committed nor asked.
    assert ClientEvent.INPUT_AUDIO_COMMIT not in types and ClientEvent.RESPONSE_CREATE not in types, types
    assert ClientEvent.INPUT_AUDIO_APPEND in types

    events = server_events(control)
    for name in (ServerEvent.SPEECH_STARTED, ServerEvent.SPEECH_STOPPED, ServerEvent.INPUT_AUDIO_COMMITTED,
                 ServerEvent.RESPONSE_DONE):
        assert name in events, (name, events)
    # No self-interrupt: after the utterance the mic is silent, and the agent's own playback started no turn.
    assert events.count(ServerEvent.SPEECH_STARTED) == 1, events
    assert ClientEvent.ITEM_TRUNCATE not in types
    assert_played_fully(stats)

    voice.page.locator('.vu-turn-assistant .vu-text').first.wait_for()
    user = voice.cards('user')
    assert len(user) == 1, user
    if uses_speech_models():
        assert_heard_whole_sentence(user[0])
    assert voice.page.get_by_role('status').inner_text().startswith('Listening… just talk')
    assert voice.page.get_by_role('button', name='Stop Speaking').is_disabled()
    screenshot(voice.page, 'e2e-hands-free-turn.png')

    # Off again: push-to-talk, the stream ends, turn detection is back to manual.
    voice.page.get_by_role('switch', name='Hands-free').click()
    stats = voice.wait_for('s.status === "idle" && !s.capturing', timeout_ms=10_000)
    last_update = [e for e in voice.traffic.realtime_sent() if e['type'] == ClientEvent.SESSION_UPDATE][-1]
    assert last_update['session']['audio']['input']['turn_detection'] is None


def test_typing_while_the_agent_talks_interrupts_it(voice, control):
    box = voice.page.get_by_role('textbox', name='Message')
    box.fill('Please tell me a long story about a lighthouse keeper, the sea, the storms and the ships at night.')
    box.press('Enter')
    voice.wait_status('speaking')
    voice.page.wait_for_timeout(600)  # some of the reply has been heard
    first = len(voice.traffic.frames)
    box.fill('Stop, thanks.')
    box.press('Enter')  # typing over the agent: playback stops at once, the reply is cut at what was heard
    stats = voice.wait_for('s.status === "idle" && s.lastPlayback !== null && !s.lastPlayback.flushed')

    after = voice.traffic.realtime_sent(first)
    types = [e['type'] for e in after]
    # The server sees the cut first (cancel if the reply was still streaming, truncate), then the new message.
    expected = [ClientEvent.ITEM_TRUNCATE, ClientEvent.ITEM_CREATE, ClientEvent.RESPONSE_CREATE]
    assert types in (expected, [ClientEvent.RESPONSE_CANCEL, *expected]), types
    truncate = after[types.index(ClientEvent.ITEM_TRUNCATE)]
    assert 300 <= truncate['audio_end_ms'] < 10_000, truncate  # about what was played, not the whole reply
    for event in after:
        validate_client_event(event)
    assert_played_fully(stats)
    voice.page.get_by_text('interrupted').first.wait_for(timeout=5000)  # the cut reply's card says so
    assert voice.cards('user')[-1] == 'Stop, thanks.'
