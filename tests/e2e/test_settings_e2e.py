"""Issue 13, Settings and polish in real Chromium against the real app: the dialog's fields by their accessible
names, a bad value stopped on its field, saved settings in the embedded server's own record of the session (at
connect and on a running session), the voice rule (`cannot_update_voice`), focus after Start/Stop/Send, the
not-billed cost label, and the dialog in light, dark and phone layouts."""
from __future__ import annotations

import pytest

from tests.protocol_validation import validate_client_event
from tests.support import wait_until
from voice_ui.protocol import ClientEvent, ServerEvent

from .conftest import open_voice_page, screenshot


FIELDS = [('combobox', 'Voice'), ('textbox', 'Instructions'), ('textbox', 'Transcription language'),
          ('textbox', 'Transcription prompt'), ('combobox', 'Turn detection'), ('spinbutton', 'VAD threshold'),
          ('spinbutton', 'Silence duration (ms)'), ('spinbutton', 'Prefix padding (ms)'),
          ('switch', 'Start in hands-free mode')]


@pytest.fixture
def voice(fresh_weather_voice):
    return fresh_weather_voice


def open_settings(page):
    page.get_by_role('button', name='Settings').click()
    dialog = page.get_by_role('dialog')
    dialog.get_by_role('textbox', name='Instructions').wait_for()
    return dialog


def choose(page, dialog, field: str, option: str) -> None:
    dialog.get_by_role('combobox', name=field).click()
    page.get_by_role('option', name=option, exact=True).click()


def session_updates(log: dict) -> list[dict]:
    return [event for event in log['client_events'] if event['type'] == ClientEvent.SESSION_UPDATE]


def focused(locator) -> bool:
    return locator.evaluate('(el) => el === document.activeElement || el.contains(document.activeElement)')


def test_settings_reach_the_server_at_connect_and_mid_session_and_the_voice_waits(voice, control):
    page = voice.page
    dialog = open_settings(page)
    for role, name in FIELDS:
        assert dialog.get_by_role(role, name=name).count() == 1, (role, name)
    choose(page, dialog, 'Voice', 'Marin')
    dialog.get_by_role('textbox', name='Instructions').fill('Speak like a pirate.')
    language = dialog.get_by_role('textbox', name='Transcription language')
    language.fill('english')
    dialog.get_by_role('button', name='Save').click()
    dialog.get_by_text('two-letter ISO-639-1 code').wait_for()  # on the field; the dialog stays open
    assert dialog.is_visible() and control.sessions() == []
    language.fill('de')
    dialog.get_by_role('button', name='Save').click()
    dialog.wait_for(state='hidden')

    # Push-to-talk with the new settings; focus follows the turn.
    start, stop = page.get_by_role('button', name='Start Speaking'), page.get_by_role('button', name='Stop Speaking')
    start.click()
    voice.wait_status('listening', timeout_ms=20_000)
    wait_until(lambda: focused(stop), 5, 'focus on Stop Speaking after Start')
    page.wait_for_timeout(3600)  # the fake mic's utterance
    stop.click()
    voice.wait_status('thinking', 'speaking', 'idle', timeout_ms=20_000)
    wait_until(lambda: focused(start), 5, 'focus back on Start Speaking after Stop')
    voice.wait_reply()
    [log] = control.sessions()
    first = session_updates(log)[0]['session']
    assert first['audio']['output']['voice'] == 'marin' and first['instructions'] == 'Speak like a pirate.'
    assert first['audio']['input']['transcription']['language'] == 'de'
    assert 'not billed' in page.locator('.vu-usage').inner_text()
    assert page.get_by_role('status').count() == 1 and page.get_by_text('Agent is speaking').count() <= 1

    # The agent has spoken: instructions and transcription change at once, the voice from the next session.
    dialog = open_settings(page)
    choose(page, dialog, 'Voice', 'Sage')
    dialog.get_by_role('textbox', name='Transcription prompt').fill('Kaffee und Kuchen')
    dialog.get_by_role('button', name='Save').click()
    page.get_by_text('applies from the next session').wait_for(timeout=5000)
    log = wait_until(lambda: next((log for log in control.sessions() if len(session_updates(log)) == 2), None), 10,
                     'the running session got the saved settings')
    live = session_updates(log)[-1]['session']
    assert live['audio']['input']['transcription']['prompt'] == 'Kaffee und Kuchen'
    assert 'output' not in live['audio'], 'no voice change is sent once the agent has spoken'
    assert log['server_events'].count('error') == 0 and not page.get_by_role('alert').is_visible()

    # The next session has it; before the agent speaks there, the voice changes at once.
    page.get_by_role('button', name='Close Session').click()
    voice.wait_status('closed')
    start.click()
    voice.wait_status('listening', timeout_ms=20_000)
    second = control.sessions()[-1]
    assert session_updates(second)[0]['session']['audio']['output']['voice'] == 'sage'
    dialog = open_settings(page)
    choose(page, dialog, 'Voice', 'Ash')
    dialog.get_by_role('button', name='Save').click()
    dialog.wait_for(state='hidden')
    voice_only = {'type': 'realtime', 'audio': {'output': {'voice': 'ash'}}}
    second = wait_until(lambda: next((log for log in control.sessions()[1:]
                                      if session_updates(log)[-1]['session'] == voice_only), None), 10,
                        'the voice change on a session where the agent has not spoken yet')
    page.wait_for_timeout(1000)  # the server's answer to it
    second = control.sessions()[-1]
    assert second['server_events'].count(ServerEvent.SESSION_UPDATED) == len(session_updates(second))
    assert second['server_events'].count('error') == 0
    for event in voice.traffic.realtime_sent():
        validate_client_event(event)

    # Sending a message gives focus back to the Message box.
    box = page.get_by_role('textbox', name='Message')
    box.fill('Thanks!')
    page.get_by_role('button', name='Send').click()
    page.wait_for_function('document.activeElement && document.activeElement.tagName === "INPUT"', timeout=5000)
    assert focused(box), 'focus is back in the Message box'


@pytest.mark.parametrize(('name', 'options'), [
    ('light', {}), ('dark', {'color_scheme': 'dark'}),
    ('phone', {'viewport': {'width': 390, 'height': 844}, 'is_mobile': True, 'has_touch': True}),
])
def test_the_page_and_dialog_fit_light_dark_and_a_phone(playwright, chromium, app, name, options):
    browser, voice = open_voice_page(playwright, chromium, 'weather', app.url, **options)
    try:
        page = voice.page
        overflow = 'document.documentElement.scrollWidth - window.innerWidth'
        assert page.evaluate(overflow) <= 0, 'the page scrolls sideways'
        screenshot(page, f'e2e-page-{name}.png')
        dialog = open_settings(page)
        save = dialog.get_by_role('button', name='Save')
        save.scroll_into_view_if_needed()
        assert save.is_visible() and page.evaluate(overflow) <= 0
        box = dialog.get_by_role('textbox', name='Instructions').bounding_box()
        assert box['x'] >= 0 and box['x'] + box['width'] <= page.viewport_size['width']
        if name == 'dark':
            assert page.evaluate('document.body.classList.contains("body--dark")'), 'dark mode follows the system'
        screenshot(page, f'e2e-settings-{name}.png')
    finally:
        browser.close()
