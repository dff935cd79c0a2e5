"""The page under NiceGUI's user simulation: no JavaScript runs, so the component's events are fed with `.trigger()`
and the calls Python makes into the browser are recorded with `user.javascript_rules`."""
import asyncio
import json

import pytest
from nicegui import ui
from nicegui.testing import User

from tests.protocol_validation import validate_client_event
from voice_ui.protocol import MAX_TYPED_CHARS, ClientEvent, ErrorSource, ServerEvent as S, Status, UiEvent
from voice_ui.realtime_session import RealtimeSession

@pytest.fixture
def openai_env(mint_peer, monkeypatch):
    """Point the app at the real local mint peer, as if it were OpenAI. Must come before `user`."""
    monkeypatch.setenv('OPENAI_API_KEY', 'sk-test-page-key')
    monkeypatch.setenv('OPENAI_BASE_URL', mint_peer.url)
    return mint_peer


@pytest.fixture
def browser(user: User, monkeypatch):
    """Records every method Python calls on the browser component: {name: [args, ...]} (no JavaScript runs here)."""
    calls: dict[str, list] = {}
    original = RealtimeSession.run_method

    def record(self, name, *args, **kwargs):
        calls.setdefault(name, []).append(list(args))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(RealtimeSession, 'run_method', record)
    return calls


async def until(condition, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError('condition not met in time')


def transcript_texts(user: User) -> list[str]:
    return [e.text for e in user.client.layout.descendants() if isinstance(e, ui.label) and 'vu-text' in e.classes]


def feed(user: User, *events: dict) -> None:
    for event in events:
        user.find(RealtimeSession).trigger(UiEvent.SERVER_EVENT, event)


def transcript(user: User, item_id: str, role: str, delta: str, replace=False, final=False) -> None:
    user.find(RealtimeSession).trigger(UiEvent.TRANSCRIPT, {'item_id': item_id, 'role': role, 'delta': delta,
                                                            'replace': replace, 'final': final})


def status(user: User, value: str) -> None:
    user.find(RealtimeSession).trigger(UiEvent.STATUS, {'status': value, 'turn': 1})


def button(user: User, marker: str) -> ui.button:
    return next(iter(user.find(marker=marker).elements))


async def test_page_renders_controls_and_backend(openai_env, user: User):
    await user.open('/')
    for text in ('Start Speaking', 'Stop Speaking', 'Close Session', 'OpenAI · gpt-realtime', 'Ready'):
        await user.should_see(text)


async def test_no_token_is_minted_at_render_and_one_is_provided_when_the_browser_asks(openai_env, user: User,
                                                                                   browser):
    await user.open('/')
    await asyncio.sleep(0.2)
    assert openai_env.minted == 0, 'minting belongs to token_wanted, not to page render'
    user.find(RealtimeSession).trigger(UiEvent.TOKEN_WANTED, {'reason': 'prefetch'})
    await until(lambda: browser.get('provide_token'))
    value, expires_at = browser['provide_token'][0]
    assert value == 'ek_test_1' and expires_at > 0 and openai_env.minted == 1
    assert 'sk-test-page-key' not in json.dumps(browser)


async def test_the_component_gets_a_ga_session_and_the_buttons_act_in_the_browser(openai_env, user: User):
    await user.open('/')
    session = user.find(RealtimeSession).elements.pop()
    props = session.props
    assert props['wsUrl'].startswith('ws://127.0.0.1:') and props['wsUrl'].endswith('/v1/realtime')
    assert props['model'] == 'gpt-realtime'
    validate_client_event({'type': ClientEvent.SESSION_UPDATE, 'session': props['session']})
    assert props['session']['audio']['input']['turn_detection'] is None
    for marker in ('start', 'stop'):  # the mouse's press acts, else the click (assets/press.js)
        handlers = [(listener.type, listener.js_handler) for listener in button(user, marker)._event_listeners.values()]
        assert handlers == [('pointerdown', f"(e) => getElement({session.id}).button_down('{marker}', e)"),
                            ('click', f"(e) => getElement({session.id}).button_click('{marker}', e)")], handlers


async def test_the_status_is_mirrored_from_the_browser(openai_env, user: User):
    await user.open('/')
    for value, label, start, stop in ((Status.LISTENING, 'Listening', False, True), (Status.STOPPING, 'Sending', False,
                                      False), (Status.CONNECTING, 'Connecting…', False, False),  # a Start under way
                                      (Status.RECONNECTING, 'Reconnecting…', True, False),  # a renewal: Start honoured
                                      (Status.SPEAKING, 'Agent is speaking', True, False)):
        status(user, value)
        await user.should_see(label)
        assert (button(user, 'start').enabled, button(user, 'stop').enabled) == (start, stop), value
    status(user, 'no-such-state')
    await user.should_see('Agent is speaking')
    assert user.find(RealtimeSession).elements.pop().status == Status.SPEAKING


async def test_transcripts_build_ordered_cards_including_a_late_user_transcript(openai_env, user: User):
    await user.open('/')
    feed(user,
         {'type': S.INPUT_AUDIO_COMMITTED, 'item_id': 'item_u1', 'previous_item_id': None},
         {'type': S.ITEM_ADDED, 'previous_item_id': 'item_u1',
          'item': {'id': 'item_a1', 'type': 'message', 'role': 'assistant', 'content': []}})
    transcript(user, 'item_a1', 'assistant', 'The kitchen ')
    transcript(user, 'item_a1', 'assistant', 'lights are on.')
    transcript(user, 'item_u1', 'user', 'please turn on the kitchen lights', replace=True, final=True)
    await user.should_see('The kitchen lights are on.')
    await user.should_see('please turn on the kitchen lights')
    assert transcript_texts(user) == ['please turn on the kitchen lights', 'The kitchen lights are on.']


@pytest.mark.parametrize(('behaviour', 'message'), [
    (401, 'The OpenAI API key was rejected (401)'),
    (429, 'Too many requests right now (429)'),
    (500, 'The voice service had a problem (500)'),
])
async def test_mint_failures_are_handed_to_the_browser_and_a_later_mint_works(openai_env, user: User, browser,
                                                                              behaviour, message):
    openai_env.behaviour = behaviour
    await user.open('/')
    session = user.find(RealtimeSession)
    session.trigger(UiEvent.TOKEN_WANTED, {'reason': 'start'})
    await until(lambda: browser.get('token_failed'))
    assert browser['token_failed'][0][0].startswith(message)
    session.trigger(UiEvent.ERROR, {'source': ErrorSource.TOKEN, 'code': 'mint_failed',
                                    'message': browser['token_failed'][0][0]})  # what the browser then reports
    await user.should_see(message)
    openai_env.behaviour = 'ok'
    session.trigger(UiEvent.TOKEN_WANTED, {'reason': 'start'})
    await until(lambda: browser.get('provide_token'))
    assert browser['provide_token'][0][0].startswith('ek_test_')


async def test_the_one_error_channel_explains_each_source(openai_env, user: User):
    await user.open('/')
    session = user.find(RealtimeSession)
    session.trigger(UiEvent.ERROR, {'source': 'server', 'code': 'input_audio_buffer_commit_empty',
                                    'message': 'Error committing input audio buffer: buffer too small.'})
    await user.should_see('buffer too small')
    session.trigger(UiEvent.ERROR, {'source': 'socket', 'code': '1006', 'message': ''})
    await user.should_see('closed (code 1006)')
    session.trigger(UiEvent.ERROR, {'source': 'microphone', 'code': 'NotAllowedError', 'message': 'Permission denied'})
    await user.should_see('Microphone access was denied')
    session.trigger(UiEvent.NOTICE, {'kind': 'too_short', 'message': 'Nothing was heard — hold the button longer.'})
    await user.should_see('Nothing was heard')
    status(user, Status.CONNECTING)  # the next Start clears both
    await user.should_not_see('Nothing was heard')
    await user.should_not_see('Microphone access was denied')


async def test_malformed_component_events_are_ignored(openai_env, user: User):
    await user.open('/')
    session = user.find(RealtimeSession)
    for name in UiEvent:
        for args in (None, [], 'x', {'status': {'a': 1}, 'item_id': ['x'], 'reason': 5, 'kind': None, 'type': 3}):
            session.trigger(name, args)
    await user.should_see('Ready')
    transcript(user, 'u1', 'user', 'still fine', replace=True, final=True)
    await user.should_see('still fine')


async def test_close_session_resets_the_conversation(openai_env, user: User, browser):
    await user.open('/')
    transcript(user, 'u1', 'user', 'set a timer', replace=True, final=True)
    await user.should_see('set a timer')
    user.find(marker='close').click()
    await user.should_not_see('set a timer')
    await user.should_see('Ready')
    assert transcript_texts(user) == []
    await until(lambda: browser.get('close'))


async def test_transcripts_render_as_text_never_html(openai_env, user: User):
    await user.open('/')
    attack = '<img src=x onerror=alert(1)>'
    transcript(user, 'u1', 'user', attack, replace=True, final=True)
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


# --- issue 13: typing, hands-free, one status indicator, the transcript as a log ---

def js_handlers(element) -> list[str]:
    return [listener.js_handler for listener in element._event_listeners.values() if listener.js_handler]


async def test_message_box_and_send_act_in_the_browser(openai_env, user: User):
    await user.open('/')
    session = user.find(RealtimeSession).elements.pop()
    box = next(iter(user.find('Message').elements))
    assert isinstance(box, ui.input) and box.props['maxlength'] == str(MAX_TYPED_CHARS)
    send = button(user, 'send')
    assert send.text == 'Send'
    enter = [listener for listener in box._event_listeners.values() if listener.js_handler]
    assert len(enter) == 1 and enter[0].type == 'keydown.enter'
    for handler in (enter[0].js_handler, *js_handlers(send)):
        assert f'getElement({session.id}).send_text(box.inputValue || "")' in handler
        assert f'getElement({box.id})' in handler and 'box.inputValue = ""' in handler  # sent, then cleared
        assert 'isComposing' in handler  # Enter that confirms an IME composition does not send


async def test_a_typed_message_shows_as_a_user_card_and_python_can_send_text(openai_env, user: User, browser):
    await user.open('/')
    transcript(user, 'item_vu1', 'user', 'what time is it', replace=True, final=True)  # what send_text reports
    await user.should_see('what time is it')
    feed(user, {'type': S.ITEM_ADDED, 'previous_item_id': None,
                'item': {'id': 'item_vu1', 'type': 'message', 'role': 'user', 'status': 'completed',
                         'content': [{'type': 'input_text', 'text': 'what time is it'}]}})  # the server's echo
    assert transcript_texts(user) == ['what time is it'], 'the echo lands on the same card'
    user.find(RealtimeSession).elements.pop().send_text('hello')
    await until(lambda: browser.get('send_text'))
    assert browser['send_text'] == [['hello']]


async def test_the_hands_free_switch_acts_in_the_browser_and_the_page_follows(openai_env, user: User):
    await user.open('/')
    session = user.find(RealtimeSession).elements.pop()
    switch = next(iter(user.find('Hands-free').elements))
    assert isinstance(switch, ui.switch) and switch.value is False
    assert js_handlers(switch) == [f'(on) => getElement({session.id}).set_hands_free(on)']
    status(user, Status.LISTENING)
    await user.should_see('press Stop Speaking')
    assert button(user, 'stop').enabled
    user.find('Hands-free').click()
    assert switch.value is True
    await user.should_see('Listening… just talk')
    assert not button(user, 'stop').enabled, 'the server ends turns in hands-free mode'
    user.find('Hands-free').click()
    await user.should_see('press Stop Speaking')
    assert button(user, 'stop').enabled


@pytest.fixture
def semantic_vad_env(openai_env, monkeypatch):
    monkeypatch.setenv('VOICE_UI_TURN_DETECTION', 'semantic_vad')  # before `user`: the app reads it at start


async def test_hands_free_uses_the_configured_ga_turn_detection(semantic_vad_env, user: User):
    await user.open('/')
    turn_detection = user.find(RealtimeSession).elements.pop().props['turnDetection']
    assert turn_detection == {'type': 'semantic_vad', 'eagerness': 'auto', 'create_response': True,
                              'interrupt_response': True}
    validate_client_event({'type': ClientEvent.SESSION_UPDATE,
                           'session': {'type': 'realtime', 'audio': {'input': {'turn_detection': turn_detection}}}})


def test_an_unknown_turn_detection_setting_is_a_clear_startup_error():
    from voice_ui.config import settings_from_env
    with pytest.raises(SystemExit, match='VOICE_UI_TURN_DETECTION must be server_vad or semantic_vad'):
        settings_from_env({'VOICE_UI_TURN_DETECTION': 'push_to_talk'}, dotenv=None)
    assert settings_from_env({}, dotenv=None).turn_detection == 'server_vad'


async def test_one_status_indicator_and_the_transcript_is_a_live_log(openai_env, user: User):
    await user.open('/')
    status(user, Status.SPEAKING)
    await user.should_see('Agent is speaking')
    labels = [e for e in user.client.layout.descendants() if isinstance(e, ui.label) and 'speaking' in e.text]
    assert len(labels) == 1 and labels[0].props.get('role') == 'status', 'one status, said once'
    logs = [e for e in user.client.layout.descendants() if e.props.get('role') == 'log']
    assert len(logs) == 1 and 'vu-transcript' in logs[0].classes and logs[0].props['aria-live'] == 'polite'


async def test_a_user_turn_without_speech_shows_a_note_not_an_empty_card(openai_env, user: User):
    await user.open('/')
    feed(user, {'type': S.INPUT_AUDIO_COMMITTED, 'item_id': 'item_u1', 'previous_item_id': None})
    transcript(user, 'item_u1', 'user', '', replace=True, final=True)  # the recognizer heard nothing
    await user.should_see('no speech heard')
