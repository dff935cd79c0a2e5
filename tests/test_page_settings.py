"""The Settings dialog under NiceGUI's user simulation: its fields and their names, validation on the field, user
storage across reloads, and what the browser component is handed (checked against the `openai` GA types)."""
from __future__ import annotations

import pytest
from nicegui import app, ui
from nicegui.testing import User
from openai.types.realtime import ClientSecretCreateParams
from pydantic import TypeAdapter

from tests.protocol_validation import validate_client_event
from tests import test_page
from tests.test_page import button, status, until
from voice_ui.protocol import ClientEvent, Status, UiEvent
from voice_ui.realtime_session import RealtimeSession
from voice_ui.settings import LABELS, STORAGE_KEY

openai_env, browser = test_page.openai_env, test_page.browser  # the page tests' fixtures
FIELDS = ['voice', 'instructions', 'language', 'transcription_prompt', 'turn_detection', 'threshold',
          'silence_duration_ms', 'prefix_padding_ms', 'eagerness', 'hands_free']


def field(user: User, name: str) -> ui.element:
    """The dialog's field (hidden ones too, which `user.find` skips)."""
    return next(e for e in user.client.layout.descendants() if f'setting-{name}' in e._markers)


def component(user: User) -> RealtimeSession:
    return next(iter(user.find(RealtimeSession).elements))


def dialog_open(user: User) -> bool:
    return next(e for e in user.client.layout.descendants() if isinstance(e, ui.dialog)).value


def set_value(user: User, name: str, value) -> None:
    with user.client:
        field(user, name).value = value


def as_sent(session: dict, live: dict, turn_detection: dict, hands_free: bool) -> list[dict]:
    """The session.update events the browser builds from an update_session call (live-settings.js)."""
    voice = session['audio']['output']['voice']
    live = {**live, 'audio': {'input': {**live['audio']['input'],
                                         'turn_detection': turn_detection if hands_free else None}}}
    return [{'type': ClientEvent.SESSION_UPDATE, 'session': live},
            {'type': ClientEvent.SESSION_UPDATE,
             'session': {'type': 'realtime', 'audio': {'output': {'voice': voice}}}},
            {'type': ClientEvent.SESSION_UPDATE, 'session': session}]


async def open_settings(user: User) -> None:
    user.find(marker='settings').click()
    await until(lambda: dialog_open(user))


async def test_every_field_has_its_accessible_name_and_the_configured_defaults(openai_env, user: User):
    await user.open('/')
    await open_settings(user)
    for name in FIELDS:
        element = field(user, name)
        label = element.props.get('label') or getattr(element, 'text', '')
        assert label == LABELS[name], (name, label)
    assert field(user, 'voice').value == 'cedar' and field(user, 'language').value == 'en'
    assert field(user, 'turn_detection').value == 'server_vad' and field(user, 'threshold').value == 0.5
    assert field(user, 'instructions').value.startswith('You are a friendly')
    assert field(user, 'eagerness').visible is False, 'eagerness is a semantic_vad setting'
    set_value(user, 'turn_detection', 'semantic_vad')
    assert field(user, 'eagerness').visible and not field(user, 'threshold').parent_slot.parent.visible


@pytest.mark.parametrize(('name', 'value', 'message'), [
    ('language', 'english', 'two-letter ISO-639-1 code'),
    ('threshold', 1.5, 'less than or equal to 1'),
    ('silence_duration_ms', 20, 'greater than or equal to 100'),
    ('prefix_padding_ms', None, 'Enter a number'),
    ('transcription_prompt', 'x' * 1001, 'at most 1000 characters'),
    ('instructions', 'y' * 16_001, 'at most 16000 characters'),
])
async def test_a_bad_value_gets_its_message_on_the_field_and_never_reaches_the_browser(
        openai_env, user: User, browser, name, value, message):
    await user.open('/')
    await open_settings(user)
    set_value(user, name, value)
    assert message in (field(user, name).error or ''), field(user, name).error  # at once, as it changes
    user.find(marker='settings-save').click()
    await user.should_see(message)
    assert field(user, name).props['error'] is True and message in field(user, name).props['error-message']
    assert 'update_session' not in browser, 'nothing invalid is applied'
    with user.client:
        assert STORAGE_KEY not in app.storage.user, 'nothing invalid is kept'
    assert dialog_open(user), 'the dialog stays open to fix it'


async def test_saved_settings_are_applied_to_the_component_as_ga_session_updates(openai_env, user: User,
                                                                                browser):
    await user.open('/')
    await open_settings(user)
    set_value(user, 'voice', 'marin')
    user.find(marker='setting-instructions').clear().type('Answer like a pirate.')
    user.find(marker='setting-language').clear().type(' DE ')
    user.find(marker='setting-transcription_prompt').clear().type('Kaffee, Kuchen')
    set_value(user, 'silence_duration_ms', 800.0)
    set_value(user, 'threshold', 0.7)
    user.find(marker='settings-save').click()
    await until(lambda: not dialog_open(user))

    [[session, live, turn_detection]] = browser['update_session']
    assert session['audio']['output']['voice'] == 'marin' and session['instructions'] == 'Answer like a pirate.'
    assert session['audio']['input']['transcription']['language'] == 'de'
    assert session['audio']['input']['transcription']['prompt'] == 'Kaffee, Kuchen'
    assert session['audio']['input']['turn_detection'] is None, 'push-to-talk until the switch says otherwise'
    assert turn_detection == {'type': 'server_vad', 'threshold': 0.7, 'prefix_padding_ms': 300,
                              'silence_duration_ms': 800, 'create_response': True, 'interrupt_response': True}
    assert 'voice' not in str(live), 'the voice goes on its own: the API may refuse it'
    for hands_free in (False, True):
        for event in as_sent(session, live, turn_detection, hands_free):
            validate_client_event(event)
    assert component(user).props['session'] == session, 'a re-sent element agrees with what the browser has'


async def test_settings_persist_across_reloads_and_shape_the_next_page(openai_env, user: User):
    await user.open('/')
    await open_settings(user)
    set_value(user, 'voice', 'sage')
    set_value(user, 'turn_detection', 'semantic_vad')
    set_value(user, 'eagerness', 'high')
    set_value(user, 'hands_free', True)
    user.find(marker='setting-language').clear()
    user.find(marker='settings-save').click()
    await until(lambda: not dialog_open(user))

    await user.open('/')  # a reload: the same browser (cookie), a new page
    props = component(user).props
    assert props['session']['audio']['output']['voice'] == 'sage'
    assert 'language' not in props['session']['audio']['input']['transcription'], 'empty: the transcriber detects'
    assert props['turnDetection'] == {'type': 'semantic_vad', 'eagerness': 'high', 'create_response': True,
                                      'interrupt_response': True}
    assert props['handsFree'] is True and button(user, 'hands-free').value is True
    validate_client_event({'type': ClientEvent.SESSION_UPDATE, 'session': props['session']})
    status(user, Status.LISTENING)
    await user.should_see('just talk')  # the page opened in hands-free mode
    await open_settings(user)
    assert field(user, 'voice').value == 'sage' and field(user, 'eagerness').value == 'high'


async def test_the_token_is_minted_with_the_persons_settings(openai_env, user: User, browser):
    """The session bound in the token starts as this person set it (not the app's defaults), before any update."""
    await user.open('/')
    await open_settings(user)
    set_value(user, 'voice', 'verse')
    user.find(marker='setting-instructions').clear().type('Speak Welsh only.')
    user.find(marker='setting-language').clear().type('cy')
    user.find(marker='settings-save').click()
    await until(lambda: not dialog_open(user))
    user.find(RealtimeSession).trigger(UiEvent.TOKEN_WANTED, {'reason': 'start'})
    await until(lambda: browser.get('provide_token'))
    [request] = openai_env.requests
    TypeAdapter(ClientSecretCreateParams).validate_python(request['body'])
    session = request['body']['session']
    assert session['audio']['output']['voice'] == 'verse' and session['instructions'] == 'Speak Welsh only.'
    assert session['audio']['input']['transcription']['language'] == 'cy'
    assert session['model'] == 'gpt-realtime' and session['audio']['input']['turn_detection'] is None
    await user.open('/')  # another person (a fresh browser) gets the app's defaults
    with user.client:
        app.storage.user.clear()
    await user.open('/')
    user.find(RealtimeSession).trigger(UiEvent.TOKEN_WANTED, {'reason': 'start'})
    await until(lambda: len(openai_env.requests) == 2)
    assert openai_env.requests[1]['body']['session']['audio']['output']['voice'] == 'cedar'


async def test_cancel_and_reset_keep_nothing(openai_env, user: User, browser):
    await user.open('/')
    await open_settings(user)
    set_value(user, 'voice', 'ash')
    user.find(marker='settings-cancel').click()
    await until(lambda: not dialog_open(user))
    await open_settings(user)
    assert field(user, 'voice').value == 'cedar', 'a cancelled change is forgotten'
    set_value(user, 'language', 'xx-bad')
    user.find(marker='settings-reset').click()
    assert field(user, 'language').value == 'en' and field(user, 'language').error is None
    assert 'update_session' not in browser


async def test_hostile_stored_values_fall_back_field_by_field(openai_env, user: User):
    await user.open('/')
    with user.client:
        app.storage.user[STORAGE_KEY] = {'browser': {'voice': 'ballad', 'threshold': 'loud', 'language': '../../x',
                                                     'silence_duration_ms': 10 ** 12, 'eagerness': None,
                                                     'unknown': 'x' * 10_000, 'hands_free': 'yes please'}}
    await user.open('/')
    props = component(user).props
    assert props['session']['audio']['output']['voice'] == 'ballad', 'the good value is kept'
    assert props['session']['audio']['input']['transcription']['language'] == 'en'
    assert props['turnDetection']['threshold'] == 0.5 and props['turnDetection']['silence_duration_ms'] == 500
    assert props['handsFree'] is False
    with user.client:
        app.storage.user[STORAGE_KEY] = ['not', 'a', 'dict']
    await user.open('/')
    assert component(user).props['session']['audio']['output']['voice'] == 'cedar'
