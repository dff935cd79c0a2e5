"""Issue 9 in real Chromium: the real app with a shared password (embedded server, same port) — the login page,
a wrong password, signing in, a whole turn through the middleware and socket guard, then signing out.

Written against the page's flow at the time (Start asks Python for a token); the browser asks for tokens itself
once the component emits `token_wanted`, and this test drives only buttons, so it holds for both.
"""
from __future__ import annotations

import pytest

from tests.support import TESTDATA

from .conftest import TRACK_STREAMS_JS, running_app, screenshot
from .driver import VoicePage
from .harness import Traffic, chromium_args

PASSWORD = 'correct horse battery'


@pytest.fixture(scope='module')
def app():
    with running_app('app-login', env={'VOICE_UI_PASSWORD': PASSWORD}) as app:
        yield app


@pytest.fixture(scope='module')
def page(playwright, chromium, app):
    browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                         args=chromium_args(TESTDATA / 'weather.mic48k.wav'))
    page = browser.new_page(viewport={'width': 900, 'height': 900})
    page.add_init_script(TRACK_STREAMS_JS)
    page.traffic = Traffic(page)
    yield page
    browser.close()


def test_the_page_asks_for_the_password_first(page, app):
    page.goto(app.url)
    page.get_by_text('Sign in to talk.').wait_for(timeout=15_000)
    assert '/login' in page.url and page.locator('.voice-ui-session').count() == 0
    page.get_by_label('Password').fill('not the password')
    page.get_by_role('button', name='Sign in').click()
    page.get_by_text('Wrong password.').wait_for(timeout=10_000)
    assert '/login' in page.url


def test_signing_in_leads_to_a_working_turn(page, app):
    page.get_by_label('Password').fill(PASSWORD)
    page.get_by_label('Password').press('Enter')
    page.wait_for_selector('.voice-ui-session', state='attached', timeout=15_000)
    page.get_by_text('Signed in with the shared password').wait_for()
    cookies = {c['name']: c for c in page.context.cookies()}
    assert cookies['voice_ui_session']['httpOnly'] and cookies['voice_ui_session']['sameSite'] == 'Lax'
    voice = VoicePage(page, page.traffic)
    voice.element_id = int(page.locator('.voice-ui-session').get_attribute('id').lstrip('c'))
    result = voice.turn(3.5)
    assert result.stats['turns'] >= 1 and result.sent
    page.locator('.vu-turn-assistant .vu-text').first.wait_for()
    assert voice.cards('assistant')[0].strip()
    screenshot(page, 'e2e-login-turn.png')


def test_signing_out_returns_to_the_login_page(page, app):
    page.get_by_role('button', name='Sign out').click()
    page.get_by_text('Sign in to talk.').wait_for(timeout=10_000)
    assert 'voice_ui_session' not in {c['name'] for c in page.context.cookies()}
    page.goto(app.url)
    page.get_by_text('Sign in to talk.').wait_for(timeout=10_000)
