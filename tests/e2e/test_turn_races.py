"""Issue 15: the turn state machine in real Chromium against the embedded server, where the races were.

Each gesture is handled in the browser at once, so the tests press buttons (or call the component's methods in
one JS task, faster than any person) and then check the wire (what reached the server) and the state.
"""
from __future__ import annotations

import pytest

from voice_ui.protocol import ClientEvent, ErrorCode

from .checks import turns_on_server
from .conftest import open_voice_page


@pytest.fixture
def voice(playwright, chromium, app, control):
    control.set_faults()
    browser, voice = open_voice_page(playwright, chromium, 'weather', app.url)
    yield voice
    errors = [line for line in voice.console if line.startswith('pageerror')]
    browser.close()
    assert not errors, errors


def call(voice, *methods: str) -> None:
    """Calls component methods back to back in one task, as a double click or a Stop→Start faster than a person."""
    voice.page.evaluate('(methods) => { const el = getElement(%d); for (const m of methods) el[m](); }'
                        % voice.element_id, list(methods))


def sessions_since(control, before: int) -> list[dict]:
    return control.sessions()[before:]


def test_a_double_click_on_start_opens_one_socket_and_one_turn(voice, control):
    before = len(control.sessions())
    voice.page.get_by_role('button', name='Start Speaking').dblclick()
    call(voice, 'start', 'start')
    stats = voice.wait_status('listening', timeout_ms=20_000)
    voice.page.wait_for_timeout(300)
    assert stats['turn'] == 1 and len(sessions_since(control, before)) == 1
    assert len(voice.traffic.realtime_sockets()) == 1


def test_stop_then_start_at_once_keeps_the_first_turn_whole_and_asks_one_reply(voice, control):
    before = len(control.sessions())
    voice.start_speaking()
    voice.page.wait_for_timeout(1200)
    call(voice, 'stop', 'start')  # Start within the same task as Stop: the flush must not be reset
    stats = voice.wait_for('s.turns >= 1 && s.status === "listening"', timeout_ms=5000)
    assert stats['turn'] == 2
    first = stats['turnMs']
    assert first >= 1000 and stats['turnMs'] >= stats['turnHeldMs'] - 1, stats  # the audio up to Stop, all of it
    voice.page.wait_for_timeout(600)
    voice.stop_speaking()
    voice.wait_reply()
    [log] = sessions_since(control, before)
    turns = turns_on_server(log)
    assert [t['type'] for t in turns] == [ClientEvent.INPUT_AUDIO_COMMIT] * 2, turns
    assert turns[0]['audio_bytes'] == round(first * 48), 'the first commit carried exactly the first turn'
    creates = [e for e in log['client_events'] if e['type'] == ClientEvent.RESPONSE_CREATE]
    assert len(creates) == 1 and creates[0]['received_at'] >= turns[1]['at'], 'one reply, after the second commit'


def test_close_while_connecting_opens_nothing_and_reports_no_error(voice, control):
    before = len(control.sessions())
    call(voice, 'start', 'close')
    voice.page.wait_for_timeout(2500)  # long enough for a token, the mic and a socket, had connect gone on
    stats = voice.stats()
    assert stats['status'] == 'closed' and stats['socketState'] == 'closed' and not stats['micActive']
    opened = [s for s in sessions_since(control, before) if 'session.update' in [e['type'] for e in s['client_events']]]
    assert opened == [], opened
    tracks = voice.page.evaluate('window.__voiceUiStreams.flatMap(s => s.getTracks()).map(t => t.readyState)')
    assert all(state == 'ended' for state in tracks), tracks
    assert voice.page.locator('.vu-error').is_hidden()
    voice.start_speaking()  # and the page goes on
    voice.page.wait_for_timeout(800)
    voice.stop_speaking()
    voice.wait_reply()


def test_a_quick_start_stop_commits_nothing_and_says_why(voice, control):
    voice.turn(0.8)  # warm: the socket is open
    before = voice.traffic.realtime_sent()
    call(voice, 'start', 'stop')
    voice.page.get_by_text('Nothing was heard').wait_for(timeout=5000)
    stats = voice.wait_status('idle', timeout_ms=5000)
    sent = [e['type'] for e in voice.traffic.realtime_sent()[len(before):]]
    assert ClientEvent.INPUT_AUDIO_COMMIT not in sent and ClientEvent.INPUT_AUDIO_CLEAR in sent, sent
    assert stats['turnMs'] < 100


def test_a_refused_commit_gets_no_reply(voice, control):
    voice.turn(0.8)
    control.set_faults(error_on=ClientEvent.INPUT_AUDIO_COMMIT,
                       error={'type': 'invalid_request_error', 'code': ErrorCode.COMMIT_EMPTY,
                              'message': 'Error committing input audio buffer: buffer too small.'})
    first = len(voice.traffic.frames)
    voice.start_speaking()
    voice.page.wait_for_timeout(600)
    voice.stop_speaking()
    voice.page.get_by_text('buffer too small').wait_for(timeout=5000)
    stats = voice.wait_status('idle', timeout_ms=5000)
    voice.page.wait_for_timeout(500)
    sent = [e['type'] for e in voice.traffic.realtime_sent(first)]
    assert ClientEvent.INPUT_AUDIO_COMMIT in sent and ClientEvent.RESPONSE_CREATE not in sent, sent
    assert 'thinking' not in [e['status'] for e in stats['statusLog'] if e['t'] > stats['turnStoppedAt'] - 100]
    control.set_faults()
    voice.turn(0.8)  # the session goes on


def test_a_reply_that_never_finishes_is_ended_by_the_watchdog(voice, control):
    voice.turn(0.8)
    voice.page.evaluate(f'getElement({voice.element_id}).voice.replies.watchdogMs = 1500')
    control.set_faults(reply_delay_ms=6000)  # response.created comes, then nothing for 6 s
    voice.start_speaking()
    voice.page.wait_for_timeout(600)
    voice.stop_speaking()
    voice.wait_status('thinking', timeout_ms=5000)
    voice.page.get_by_text('The reply stopped arriving').wait_for(timeout=5000)
    stats = voice.wait_status('idle', timeout_ms=2000)
    assert not stats['playing']
    voice.page.wait_for_timeout(6000)  # the late reply arrives: dropped, no "speaking"
    assert voice.stats()['status'] == 'idle'
    control.set_faults()
    voice.page.evaluate(f'getElement({voice.element_id}).voice.replies.watchdogMs = 30000')  # speech models are slow
    voice.turn(0.8)  # the stalled reply was cancelled on the server too: a new one is accepted
