"""Start and Stop Speaking act on the press of the mouse, and a held Start is hold-to-talk (assets/press.js), in real
Chromium against the embedded server's echo agent (standalone), with real input events (Playwright's mouse, touch
screen and keyboard). What the page did is read from its own log of pointer events and of the session's start()
and stop() calls (both in page time), and what reached the server from the server's session log."""
from __future__ import annotations

import pytest

from voice_ui.protocol import ClientEvent

from .checks import turns_on_server
from .conftest import open_voice_page
from .harness import LocalServerControl
from .test_audio_download import API_KEY, app, realtime_server  # noqa: F401 (the echo server's app)

# The pointer events the window sees first (capture phase), with whether they carried a user activation.
POINTER_LOG_JS = '''(() => {
  window.__press = [];
  for (const type of ['pointerdown', 'pointerup', 'click']) {
    window.addEventListener(type, (e) => window.__press.push({ type, pointer: e.pointerType || '', t: performance.now(),
      active: navigator.userActivation ? navigator.userActivation.isActive : null }), true);
  }
})();'''
# Every start() and stop() of the session from now on, in page time.
COUNT_CALLS_JS = '''(id) => {
  const v = getElement(id).voice;
  window.__calls = [];
  for (const name of ['start', 'stop']) {
    const original = v[name].bind(v);
    v[name] = (...args) => { window.__calls.push({ name, t: performance.now() }); return original(...args); };
  }
}'''
STOP_SLACK_MS = 100  # the stop() call runs in the release's own event dispatch: only a main-thread stall apart


@pytest.fixture(scope='module')
def control(realtime_server):  # noqa: F811
    return LocalServerControl(realtime_server.url)


def open_page(playwright, chromium, app, **options):  # noqa: F811
    browser, voice = open_voice_page(playwright, chromium, 'weather', app.url, (POINTER_LOG_JS,), **options)
    voice.page.evaluate(COUNT_CALLS_JS, voice.element_id)
    return browser, voice


def closing(browser, voice):
    errors = [line for line in voice.console if line.startswith('pageerror')]
    browser.close()
    assert not errors, errors


@pytest.fixture
def voice(playwright, chromium, app, control):  # noqa: F811
    control.clear_sessions()
    browser, voice = open_page(playwright, chromium, app)
    yield voice
    closing(browser, voice)


@pytest.fixture
def touch_voice(playwright, chromium, app, control):  # noqa: F811
    control.clear_sessions()
    browser, voice = open_page(playwright, chromium, app, has_touch=True)
    yield voice
    closing(browser, voice)


def calls(voice) -> list[dict]:
    return voice.page.evaluate('window.__calls')


def names(voice) -> list[str]:
    return [call['name'] for call in calls(voice)]


def pointer_log(voice, type_: str) -> list[dict]:
    return [entry for entry in voice.page.evaluate('window.__press') if entry['type'] == type_]


def press(voice, label: str) -> None:
    """The mouse goes down on the button (and stays down)."""
    box = voice.page.get_by_role('button', name=label).bounding_box()
    voice.page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2)
    voice.page.mouse.down()


def commits(control) -> list[dict]:
    return [turn for turn in turns_on_server(control.sessions()[-1]) if turn['type'] == ClientEvent.INPUT_AUDIO_COMMIT]


def assert_whole_turn(stats: dict, turn: dict) -> None:
    """The commit carried exactly the audio the page captured for the turn, all of it up to the Stop moment."""
    assert turn['audio_bytes'] == round(stats['turnMs'] * 48), (turn, stats['turnMs'])
    assert stats['turnMs'] >= stats['turnHeldMs'] - 1, stats


def test_a_held_press_starts_the_turn_at_once_and_its_release_commits_it(voice, control):
    press(voice, 'Start Speaking')  # cold: the microphone and the socket open inside the press
    stats = voice.wait_for('s.status === "listening" && s.startToAppendMs !== null', timeout_ms=20_000)
    assert pointer_log(voice, 'pointerup') == [], 'the turn began and sent audio while the button was still down'
    [down] = pointer_log(voice, 'pointerdown')
    assert down['pointer'] == 'mouse' and down['active'] is True, 'the mouse press is a user activation'
    assert stats['currentTurnMs'] > 0
    voice.page.wait_for_timeout(1500)
    assert voice.stats()['status'] == 'listening', 'a press still held goes on'
    voice.page.mouse.up()
    voice.wait_for('s.turns === 1', timeout_ms=10_000)
    stats = voice.wait_reply()
    [up] = pointer_log(voice, 'pointerup')
    start, stop = calls(voice)
    assert (start['name'], stop['name']) == ('start', 'stop'), calls(voice)
    assert start['t'] - down['t'] < STOP_SLACK_MS and 0 <= stop['t'] - up['t'] < STOP_SLACK_MS, 'acted on press/release'
    assert stats['turn'] == 1, 'no new turn after the release'
    [turn] = commits(control)
    assert_whole_turn(stats, turn)
    assert stats['turnHeldMs'] >= 1500 and stats['turnMs'] >= 1500, stats  # the audio up to the release


def test_a_short_click_toggles_start_then_stop_each_on_its_press(voice, control):
    voice.turn(0.8)  # warm: the socket is open, Start begins the turn at once
    voice.page.evaluate('window.__calls = []; window.__press = []')
    voice.page.get_by_role('button', name='Start Speaking').click(delay=80)
    stats = voice.wait_status('listening', timeout_ms=5000)
    [up] = pointer_log(voice, 'pointerup')
    listening = [e['t'] for e in stats['statusLog'] if e['status'] == 'listening'][-1]
    assert listening < up['t'], 'listening before the button was released'
    stop = voice.page.get_by_role('button', name='Stop Speaking')
    voice.page.wait_for_function('(el) => el.contains(document.activeElement)', arg=stop.element_handle(),
                                 timeout=5000)  # focus followed the turn (voice_ui/focus.py), and stays there
    voice.page.wait_for_timeout(800)
    assert voice.stats()['status'] == 'listening', 'a click is a toggle: the turn goes on after the release'
    assert voice.page.evaluate('(el) => el.contains(document.activeElement)', stop.element_handle())
    start = voice.page.get_by_role('button', name='Start Speaking')
    assert start.is_disabled()
    press(voice, 'Start Speaking')  # the disabled Start (Chromium sends it pointer events): nothing happens
    voice.page.mouse.up()
    assert names(voice) == ['start'] and voice.stats()['status'] == 'listening', calls(voice)
    voice.page.get_by_role('button', name='Stop Speaking').click(delay=80)
    voice.wait_for('s.turns === 2', timeout_ms=10_000)
    stats = voice.wait_reply()
    ups = pointer_log(voice, 'pointerup')
    assert names(voice) == ['start', 'stop'], calls(voice)
    assert calls(voice)[1]['t'] < ups[-1]['t'], 'Stop acted on its press'
    assert len(commits(control)) == 2 and stats['turn'] == 2
    assert_whole_turn(stats, commits(control)[-1])


def test_a_release_outside_the_button_or_a_lost_window_ends_the_held_turn(voice, control):
    press(voice, 'Start Speaking')
    voice.wait_status('listening', timeout_ms=20_000)
    voice.page.wait_for_timeout(1200)
    voice.page.mouse.move(5, 5)  # dragged off the button to the page's corner (the click goes to the page)
    voice.page.mouse.up()
    voice.wait_for('s.turns === 1', timeout_ms=10_000)
    stats = voice.wait_reply()
    assert names(voice) == ['start', 'stop'], calls(voice)
    assert_whole_turn(stats, commits(control)[0])

    voice.page.evaluate('window.__press = []')
    press(voice, 'Start Speaking')  # warm; the window loses focus (another app) while the button is held
    voice.wait_status('listening', timeout_ms=5000)
    voice.page.wait_for_timeout(800)
    voice.page.evaluate("window.dispatchEvent(new FocusEvent('blur'))")
    voice.wait_for('s.turns === 2', timeout_ms=10_000)
    start = voice.page.get_by_role('button', name='Start Speaking')
    start.wait_for(state='visible')
    voice.page.wait_for_function('(el) => !el.disabled', arg=start.element_handle(), timeout=10_000)
    voice.page.mouse.up()  # the release comes later, on the (enabled) button: its click acts no more
    stats = voice.wait_reply()
    assert names(voice) == ['start', 'stop', 'start', 'stop'], calls(voice)
    assert len(pointer_log(voice, 'click')) == 1, 'the click on Start came, and acted no more'
    assert stats['turn'] == 2 and len(commits(control)) == 2


def test_a_touch_tap_acts_on_its_click_once(touch_voice, control):
    voice = touch_voice
    voice.page.get_by_role('button', name='Start Speaking').tap()
    voice.wait_status('listening', timeout_ms=20_000)
    [down], [click] = pointer_log(voice, 'pointerdown'), pointer_log(voice, 'click')
    # (Chromium grants activation at a touch's pointerdown too; the HTML spec, Firefox and Safari at its release)
    assert down['pointer'] == 'touch' and click['active'] is True
    assert names(voice) == ['start'] and calls(voice)[0]['t'] >= click['t'], 'started by the click, not the press'
    voice.page.wait_for_timeout(1500)
    assert voice.stats()['status'] == 'listening'
    voice.page.get_by_role('button', name='Stop Speaking').tap()
    voice.wait_for('s.turns === 1', timeout_ms=10_000)
    stats = voice.wait_reply()
    assert names(voice) == ['start', 'stop'], calls(voice)
    assert stats['turn'] == 1 and len(commits(control)) == 1
    assert_whole_turn(stats, commits(control)[0])


def test_enter_on_the_focused_start_starts_and_on_the_focused_stop_stops(voice, control):
    voice.page.get_by_role('button', name='Start Speaking').focus()
    voice.page.keyboard.press('Enter')
    voice.wait_status('listening', timeout_ms=20_000)
    assert names(voice) == ['start'] and pointer_log(voice, 'pointerdown') == []
    stop = voice.page.get_by_role('button', name='Stop Speaking')
    voice.page.wait_for_function('(el) => el.contains(document.activeElement)', arg=stop.element_handle(),
                                 timeout=5000)  # focus followed the turn (voice_ui/focus.py)
    voice.page.wait_for_timeout(1000)
    voice.page.keyboard.press('Enter')
    voice.wait_for('s.turns === 1', timeout_ms=10_000)
    stats = voice.wait_reply()
    assert names(voice) == ['start', 'stop'], calls(voice)
    assert stats['turn'] == 1 and len(commits(control)) == 1
