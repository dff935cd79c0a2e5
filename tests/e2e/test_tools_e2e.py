"""Issue 12 in real Chromium: a spoken request ("set a timer for ten minutes", the fake mic) reaches the embedded
server, whose scripted agent calls `start_timer`; the browser forwards the call to Python, which runs the real tool;
the browser sends its output and one response.create; the agent then speaks the tool's result, and the page shows
a tool card with name, arguments, result and duration."""
from __future__ import annotations

import pytest

from tests.support import manifest

from .conftest import running_app, screenshot, voice_page
from .test_embedded_app import uses_speech_models

TIMER = manifest()['timer']
HOLD_S = TIMER['mic_leading_silence_s'] + TIMER['speech_seconds'] + TIMER['mic_trailing_silence_s'] + 0.3


@pytest.fixture(scope='module')
def app():
    with running_app('tools-app', '--example-tools', entry=('-m', 'tests.e2e.tools_app')) as app:
        yield app


@pytest.fixture(scope='module')
def voice(playwright, chromium, app):
    with voice_page(playwright, chromium, 'timer', app.url) as voice:
        yield voice


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


TOOL_REPLIES_JS = '''async () => {
  const { ToolReplies } = await import('voice-ui/tool-calls.js');
  const sent = [], asked = [];
  const socket = { isOpen: true, send: (e) => { sent.push(e.type); return true; } };
  const session = { socket, status: 'listening', capturing: true, replies: { active: false },
    askForReply: (turn, e) => { asked.push([turn, e.type]); session.status = 'thinking'; } };
  const tools = new ToolReplies(session);
  const output = { type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'c', output: '' } };
  tools.send([output, output, { type: 'response.create' }, null, 'x', { type: 1 }]);
  const whileTalking = [sent.slice(), asked.slice()];
  session.capturing = false; session.status = 'idle'; tools.release();
  const betweenTurns = asked.slice();
  session.status = 'speaking'; session.replies.active = true;
  tools.send([{ type: 'response.create' }]);
  tools.drop();  // the person's turn asked for its own reply
  session.status = 'idle'; session.replies.active = false; tools.release();
  const dropped = asked.length;
  session.status = 'thinking';  // the person's turn is being answered
  tools.send([{ type: 'response.create' }]);
  session.socket = { isOpen: true, send: () => true };  // a new connection before it could go
  session.status = 'idle'; tools.release();
  return { whileTalking, betweenTurns, dropped, afterReconnect: asked.length };
}'''


def test_tool_replies_wait_for_the_turn_and_never_double(voice):
    result = voice.page.evaluate(TOOL_REPLIES_JS)
    assert result['whileTalking'] == [['conversation.item.create'] * 2, []]  # items at once, the create held
    assert result['betweenTurns'] == [[None, 'response.create']]  # one reply of its own once idle
    assert result['dropped'] == 1  # dropped when the turn's own reply answers it
    assert result['afterReconnect'] == 1  # a create for an old connection's outputs never goes out
