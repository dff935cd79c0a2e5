"""Issue 12 in real Chromium: a spoken request ("set a timer for ten minutes", the fake mic) reaches the embedded
server, whose scripted agent calls `start_timer`; the browser forwards the call to Python, which runs the real tool;
the browser sends its output and one response.create; the agent then speaks the tool's result, and the page shows
a tool card with name, arguments, result and duration."""
from __future__ import annotations

import pytest

from tests.support import free_port, manifest

from .conftest import open_voice_page, screenshot
from .harness import ServerProcess
from .test_embedded_app import uses_speech_models

TIMER = manifest()['timer']
HOLD_S = TIMER['mic_leading_silence_s'] + TIMER['speech_seconds'] + TIMER['mic_trailing_silence_s'] + 0.3


@pytest.fixture(scope='module')
def app():
    port = free_port()
    app = ServerProcess('tools-app', ['-m', 'tests.e2e.tools_app', '--example-tools', '--port', str(port),
                                      '--no-browser'], port, env={'OPENAI_API_KEY': '', 'OPENAI_BASE_URL': ''})
    try:
        yield app.wait_ready()
    finally:
        app.stop()


@pytest.fixture(scope='module')
def voice(playwright, chromium, app):
    browser, voice = open_voice_page(playwright, chromium, 'timer', app.url)
    yield voice
    browser.close()


def test_a_spoken_request_runs_a_tool_and_the_spoken_answer_carries_its_result(voice, app):
    if not uses_speech_models():
        pytest.skip('the speech extra is needed to hear the request (pip install -e ".[speech]")')
    page = voice.page
    first = len(voice.traffic.frames)
    voice.start_speaking()
    page.wait_for_timeout(HOLD_S * 1000)
    voice.stop_speaking()
    card = page.locator('.vu-tool-card')
    card.filter(has_text='Tool · start_timer').wait_for(timeout=90_000)
    page.locator('.vu-turn-assistant .vu-text', has_text='10 minutes').wait_for(timeout=90_000)
    stats = voice.wait_for('s.status === "idle" && s.lastPlayback !== null && s.lastPlayback.frames_played > 0')
    screenshot(page, 'e2e-tools.png')
    text = card.inner_text()
    assert 'done' in text and 'tea' in text and '10 minutes' in text, text  # arguments and result on the card
    assert card.count() == 1
    sent = voice.traffic.realtime_sent(first)
    outputs = [e for e in sent if e['type'] == 'conversation.item.create'
               and e['item'].get('type') == 'function_call_output']
    assert len(outputs) == 1, sent
    assert '10 minutes' in outputs[0]['item']['output'], outputs  # the real tool ran in Python
    creates = [i for i, e in enumerate(sent) if e['type'] == 'response.create']
    assert len(creates) == 2, sent  # the turn's reply, then exactly one for the tool output: no double response
    assert sent.index(outputs[0]) < creates[1]  # the output is in the conversation before the reply is asked for
    assert stats['lastPlayback']['frames_played'] > 0  # the answer was really played
    answer = page.locator('.vu-turn-assistant .vu-text').all_inner_texts()[-1]
    assert '10 minutes' in answer, answer
    assert not [line for line in voice.console if line.startswith('pageerror')], voice.console
