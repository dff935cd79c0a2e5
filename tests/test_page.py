"""The page under NiceGUI's user simulation: no JavaScript runs, so the browser's answers are scripted with
`user.javascript_rules` and the component's events are fed with `.trigger()`."""
import json
import re

import pytest
from nicegui import ui
from nicegui.testing import User

from tests.protocol_validation import validate_client_event
from tests.support import until
from voice_ui.protocol import ClientEvent, ServerEvent as S
from voice_ui.realtime_session import RealtimeSession

START_CALL = re.compile(r'return runMethod\(\d+, "start", (.*)\)$', re.S)
STOP_CALL = re.compile(r'return runMethod\(\d+, "stop", (.*)\)$', re.S)


@pytest.fixture
def openai_env(mint_peer, monkeypatch):
    """Point the app at the real local mint peer, as if it were OpenAI. Must come before `user`."""
    monkeypatch.setenv('OPENAI_API_KEY', 'sk-test-page-key')
    monkeypatch.setenv('OPENAI_BASE_URL', mint_peer.url)
    return mint_peer


@pytest.fixture
def browser(user: User):
    """Scripted browser answers; records the arguments of every start/stop call."""
    calls = {'start': [], 'stop': []}

    def on_start(match):
        calls['start'].append(json.loads(match.group(1)))
        return {'ok': True}

    def on_stop(match):
        calls['stop'].append(json.loads(match.group(1)))
        return {'committed': True, 'ms': 1200}

    user.javascript_rules[START_CALL] = on_start
    user.javascript_rules[STOP_CALL] = on_stop
    return calls


def transcript_texts(user: User) -> list[str]:
    return [e.text for e in user.client.layout.descendants() if isinstance(e, ui.label) and 'vu-text' in e.classes]


def feed(user: User, *events: dict) -> None:
    for event in events:
        user.find(RealtimeSession).trigger('realtime_event', event)


async def test_page_renders_controls_and_backend(openai_env, user: User):
    await user.open('/')
    for text in ('Start Speaking', 'Stop Speaking', 'Close Session', 'OpenAI · gpt-realtime', 'Ready'):
        await user.should_see(text)


async def test_start_uses_the_prefetched_token_and_sends_a_ga_session(openai_env, user: User, browser):
    await user.open('/')
    assert openai_env.minted == 0  # never on render (issue 9): only when the browser asks
    user.find(RealtimeSession).trigger('token_wanted', {'reason': 'prefetch'})
    await until(lambda: openai_env.minted == 1)  # prefetched ahead of the click
    user.find(marker='start').click()
    await user.should_see('Connecting')
    token, options = browser['start'][0]
    assert token == 'ek_test_1' and openai_env.minted == 1
    assert options['wsUrl'].startswith('ws://127.0.0.1:') and options['wsUrl'].endswith('/v1/realtime')
    assert options['model'] == 'gpt-realtime'
    validate_client_event({'type': ClientEvent.SESSION_UPDATE, 'session': options['session']})
    assert options['session']['audio']['input']['turn_detection'] is None
    assert 'sk-test-page-key' not in json.dumps(browser)
    user.find(marker='stop').click()
    await until(lambda: browser['stop'])
    assert len(browser['stop']) == 1


async def test_transcripts_build_ordered_cards_including_a_late_user_transcript(openai_env, user: User, browser):
    await user.open('/')
    feed(user,
         {'type': S.INPUT_AUDIO_COMMITTED, 'item_id': 'item_u1', 'previous_item_id': None},
         {'type': S.ITEM_ADDED, 'previous_item_id': 'item_u1',
          'item': {'id': 'item_a1', 'type': 'message', 'role': 'assistant', 'content': []}},
         {'type': S.OUTPUT_AUDIO_TRANSCRIPT_DELTA, 'item_id': 'item_a1', 'delta': 'The kitchen '},
         {'type': S.OUTPUT_AUDIO_TRANSCRIPT_DELTA, 'item_id': 'item_a1', 'delta': 'lights are on.'},
         {'type': S.INPUT_TRANSCRIPTION_COMPLETED, 'item_id': 'item_u1',
          'transcript': 'please turn on the kitchen lights'})
    await user.should_see('The kitchen lights are on.')
    await user.should_see('please turn on the kitchen lights')
    assert transcript_texts(user) == ['please turn on the kitchen lights', 'The kitchen lights are on.']


@pytest.mark.parametrize(('behaviour', 'message'), [
    (401, 'The OpenAI API key was rejected (401)'),
    (429, 'Too many requests right now (429)'),
    (500, 'The voice service had a problem (500)'),
])
async def test_mint_failures_show_a_message_and_start_works_afterwards(openai_env, user: User, browser,
                                                                       behaviour, message):
    openai_env.behaviour = behaviour
    await user.open('/')
    user.find(marker='start').click()
    await user.should_see(message)
    assert browser['start'] == []
    openai_env.behaviour = 'ok'
    user.find(marker='start').click()
    await user.should_see('Connecting')
    assert browser['start'][0][0].startswith('ek_test_')


async def test_browser_side_failures_show_messages_and_leave_the_page_usable(openai_env, user: User, browser):
    await user.open('/')
    session = user.find(RealtimeSession)
    feed(user, {'type': S.ERROR, 'event_id': 'evt_1', 'error': {
        'type': 'invalid_request_error', 'code': 'input_audio_buffer_commit_empty',
        'message': 'Error committing input audio buffer: buffer too small.'}})
    await user.should_see('buffer too small')
    session.trigger('socket_closed', {'code': 1006, 'reason': '', 'was_clean': False})
    await user.should_see('closed (code 1006)')
    session.trigger('mic_error', {'name': 'NotAllowedError', 'message': 'Permission denied'})
    await user.should_see('Microphone access was denied')
    session.trigger('notice', {'kind': 'too_short', 'message': 'Nothing was heard — hold the button longer.'})
    await user.should_see('Nothing was heard')
    user.find(marker='start').click()
    await user.should_see('Connecting')
    assert len(browser['start']) == 1


async def test_space_pushes_to_talk(openai_env, user: User, browser):
    await user.open('/')
    user.find(RealtimeSession).trigger('push_to_talk', {'pressed': True})
    await user.should_see('Connecting')
    user.find(RealtimeSession).trigger('push_to_talk', {'pressed': False})
    await until(lambda: browser['stop'])
    assert len(browser['start']) == 1 and len(browser['stop']) == 1


async def test_close_session_resets_the_conversation(openai_env, user: User, browser):
    await user.open('/')
    feed(user, {'type': S.INPUT_TRANSCRIPTION_COMPLETED, 'item_id': 'u1', 'transcript': 'set a timer'})
    await user.should_see('set a timer')
    user.find(marker='close').click()
    await user.should_not_see('set a timer')
    await user.should_see('Ready')
    assert transcript_texts(user) == []


async def test_transcripts_render_as_text_never_html(openai_env, user: User):
    await user.open('/')
    attack = '<img src=x onerror=alert(1)>'
    feed(user, {'type': S.INPUT_TRANSCRIPTION_COMPLETED, 'item_id': 'u1', 'transcript': attack})
    await user.should_see(attack)
    assert transcript_texts(user) == [attack]
    assert not any(isinstance(e, ui.html) for e in user.client.layout.descendants())


@pytest.fixture
def keyless_env(monkeypatch, tmp_path):
    monkeypatch.delenv('OPENAI_API_KEY', raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env either


async def test_without_a_key_the_page_says_it_uses_the_embedded_server(keyless_env, user: User):
    await user.open('/')
    await user.should_see('Embedded server (no OpenAI key)')
