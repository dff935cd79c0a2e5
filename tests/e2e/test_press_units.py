"""assets/press.js on its own, in real Chromium (served by the real app): which press or click of Start and Stop
Speaking acts, that the click after a press that acted never acts again, and when a held Start's end (a release
anywhere, a cancelled pointer, a lost capture, the window's blur) ends the turn — against a stand-in session, a
stand-in window and a clock the test moves."""
from __future__ import annotations

import pytest

from .conftest import voice_page
from .test_audio_download import app, realtime_server  # noqa: F401 (the echo server's app: no models to load)

# Each scenario: steps on a fresh TurnButtons; returns the stand-in session's calls after each step.
PRESS_JS = '''async (scenario) => {
  const { TurnButtons, HOLD_TO_TALK_MS } = await import('voice-ui/press.js');
  const calls = [];
  const voice = { status: 'idle', capturing: false, handsFree: { on: scenario.handsFree === true },
    start() { calls.push('start'); if (this.status === 'idle') this.status = 'connecting'; },
    stop() { calls.push('stop'); this.status = 'idle'; this.capturing = false; } };
  if (scenario.busy) voice.capturing = true;
  const target = new EventTarget();
  let clock = 1000;
  const buttons = new TurnButtons(voice, { now: () => clock, target });
  const button = document.createElement('button');
  if (scenario.disabled) button.disabled = true;
  const pointer = (kind = 'mouse', extra = {}) => ({ pointerType: kind, button: 0, pointerId: 1, detail: 0,
    currentTarget: button, ...extra });
  const log = [];
  for (const [step, arg, extra] of scenario.steps) {
    if (step === 'wait') clock += arg;
    else if (step === 'down') buttons.pointerDown(arg, pointer(extra && extra.pointerType, extra));
    else if (step === 'click') buttons.click(arg, { detail: extra ?? 1 });
    else if (step === 'release') target.dispatchEvent(new PointerEvent(arg, { pointerId: extra ?? 1 }));
    else if (step === 'blur') target.dispatchEvent(new Event('blur'));
    else if (step === 'tick') await new Promise((ok) => setTimeout(ok, 0));  // the release's task has passed
    log.push(calls.join(','));
  }
  const watching = buttons.press !== null;
  buttons.dispose();
  return { log, calls, watching, holdMs: HOLD_TO_TALK_MS };
}'''


@pytest.fixture(scope='module')
def page(playwright, chromium, app):  # noqa: F811
    with voice_page(playwright, chromium, 'weather', app.url) as voice:
        yield voice.page
        errors = [line for line in voice.console if line.startswith('pageerror')]
    assert not errors, errors


def run(page, steps, **options) -> dict:
    return page.evaluate(PRESS_JS, {'steps': steps, **options})


def test_the_hold_threshold_is_longer_than_a_click_and_shorter_than_speech(page):
    assert run(page, [])['holdMs'] == 500


def test_a_mouse_click_acts_on_its_press_and_its_click_does_not_act_again(page):
    result = run(page, [('down', 'start'), ('wait', 120), ('release', 'pointerup'), ('click', 'start'),
                        ('wait', 2000), ('down', 'stop'), ('wait', 90), ('release', 'pointerup'), ('click', 'stop')])
    assert result['log'] == ['start', 'start', 'start', 'start', 'start', 'start,stop', 'start,stop', 'start,stop',
                             'start,stop']
    assert not result['watching']


def test_a_double_click_acts_on_each_press_only(page):  # start() is a no-op while connecting: no new turn
    result = run(page, [('down', 'start'), ('release', 'pointerup'), ('click', 'start', 1),
                        ('down', 'start'), ('release', 'pointerup'), ('click', 'start', 2)])
    assert result['calls'] == ['start', 'start']


def test_a_held_start_ends_the_turn_on_its_release_and_its_click_does_nothing(page):
    result = run(page, [('down', 'start'), ('wait', 499), ('release', 'pointerup', 2), ('wait', 1),
                        ('release', 'pointerup'), ('click', 'start')])
    # another pointer's release (a finger on a touch screen) is not this press's
    assert result['log'] == ['start', 'start', 'start', 'start', 'start,stop', 'start,stop']
    assert not result['watching']


@pytest.mark.parametrize('ending', [('release', 'pointercancel'), ('release', 'lostpointercapture'), ('blur',)])
def test_a_held_start_ends_however_the_press_is_lost(page, ending):
    held = run(page, [('down', 'start'), ('wait', 800), ending, ('wait', 500), ('release', 'pointerup')])
    assert held['calls'] == ['start', 'stop'] and not held['watching']
    early = run(page, [('down', 'start'), ('wait', 100), ending, ('wait', 900), ('release', 'pointerup')])
    assert early['calls'] == ['start'] and not early['watching'], 'a press lost that early was a click: Stop ends it'


def test_touch_pen_and_other_buttons_act_on_the_click_only(page):
    for kind in ('touch', 'pen'):
        result = run(page, [('down', 'start', {'pointerType': kind}), ('click', 'start'),
                            ('down', 'stop', {'pointerType': kind}), ('click', 'stop')])
        assert result['log'] == ['', 'start', 'start', 'start,stop'], kind
    right = run(page, [('down', 'start', {'button': 2})])
    assert right['calls'] == []


def test_a_later_click_acts_even_after_a_mouse_press_released_elsewhere(page):
    # a press that acted, released outside the button (no click there), then Enter on the focused button
    result = run(page, [('down', 'start'), ('wait', 100), ('release', 'pointerup'), ('click', 'start', 0)])
    assert result['calls'] == ['start', 'start']
    stop = run(page, [('down', 'stop'), ('click', 'stop', 0)])
    assert stop['calls'] == ['stop', 'stop']
    # or a click with a count but without a press (a screen reader's), once the release's own task has passed
    later = run(page, [('down', 'start'), ('release', 'pointerup'), ('tick',), ('click', 'start')])
    assert later['calls'] == ['start', 'start']


def test_the_click_of_a_release_after_the_window_lost_the_press_does_not_act(page):
    result = run(page, [('down', 'start'), ('wait', 800), ('blur',), ('tick',), ('click', 'start')])
    assert result['calls'] == ['start', 'stop']


def test_a_disabled_button_does_not_act_on_its_press(page):  # Chromium sends pointer events to disabled buttons
    result = run(page, [('down', 'start'), ('down', 'stop')], disabled=True)
    assert result['calls'] == []


def test_only_a_press_that_started_the_turn_may_end_it(page):
    busy = run(page, [('down', 'start'), ('wait', 900), ('release', 'pointerup')], busy=True)  # a Space-held turn
    assert busy['calls'] == ['start'] and not busy['watching']
    hands_free = run(page, [('down', 'start'), ('wait', 900), ('release', 'pointerup')], handsFree=True)
    assert hands_free['calls'] == ['start'], 'hands-free: the server ends turns'
