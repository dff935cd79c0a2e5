"""A cold Start (page open, token prefetched) in real Chromium against the embedded server: the capture begins the
moment the microphone is open, and what it caught before the socket was set up is sent first, after session.update.
"""
from __future__ import annotations

from voice_ui.protocol import ClientEvent

from .checks import turns_on_server
from .test_turn_races import call, sessions_since, voice  # noqa: F401 (its page fixture)

SOCKET_DELAY_MS = 700
# The Realtime socket opens only SOCKET_DELAY_MS after getUserMedia answered (a slow network, a far server).
SLOW_SOCKET_JS = '''async (delayMs) => {
  const { RealtimeSocket } = await import('voice-ui/realtime-socket.js');
  const devices = navigator.mediaDevices, getUserMedia = devices.getUserMedia.bind(devices);
  let micOpen;
  const opened = new Promise((resolve) => { micOpen = resolve; });
  devices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    window.__micOpenAt = performance.now();
    micOpen();
    return stream;
  };
  const open = RealtimeSocket.prototype.open;
  RealtimeSocket.prototype.open = function (...args) {
    return opened.then(() => new Promise((r) => setTimeout(r, delayMs))).then(() => open.apply(this, args));
  };
}'''


def test_speech_before_the_socket_opened_is_sent_first_and_whole(voice, control):  # noqa: F811
    voice.wait_for('s.tokenHeld', timeout_ms=20_000)
    voice.page.evaluate(SLOW_SOCKET_JS, SOCKET_DELAY_MS)
    before = len(control.sessions())
    listening = voice.start_speaking()
    mic_open_at = voice.page.evaluate('window.__micOpenAt')
    assert listening['now'] - mic_open_at >= SOCKET_DELAY_MS - 50, 'the socket was not the slow one'
    voice.page.wait_for_timeout(600)
    voice.stop_speaking()
    stats = voice.wait_for('s.turns >= 1 && s.stopToCommitMs !== null', timeout_ms=10_000)
    # the turn holds the audio from the microphone's opening, not only from the socket's
    assert stats['turnMs'] >= 600 + SOCKET_DELAY_MS - 100, stats['turnMs']
    assert stats['turnMs'] >= stats['turnHeldMs'] - 1, 'the audio up to Stop, all of it'
    voice.wait_reply()
    [log] = sessions_since(control, before)
    types = [e['type'] for e in log['client_events']]
    assert types.index(ClientEvent.SESSION_UPDATE) < types.index(ClientEvent.INPUT_AUDIO_APPEND), types[:5]
    [turn] = turns_on_server(log)
    assert turn['type'] == ClientEvent.INPUT_AUDIO_COMMIT and turn['audio_bytes'] == round(stats['turnMs'] * 48)


def test_a_typed_first_message_sends_no_audio_of_the_turn_begun_while_connecting(voice, control):  # noqa: F811
    voice.wait_for('s.tokenHeld', timeout_ms=20_000)
    voice.page.evaluate(SLOW_SOCKET_JS, 400)  # the mic opens (and its capture begins) well before the socket
    before = len(control.sessions())
    voice.page.evaluate(f'getElement({voice.element_id}).send_text("hello there")')
    voice.wait_for('s.status === "idle" && s.lastPlayback !== null', timeout_ms=60_000)
    voice.page.wait_for_timeout(500)
    [log] = sessions_since(control, before)
    types = [e['type'] for e in log['client_events']]
    assert ClientEvent.ITEM_CREATE in types
    assert ClientEvent.INPUT_AUDIO_APPEND not in types and ClientEvent.INPUT_AUDIO_COMMIT not in types, types


def test_stop_while_connecting_commits_nothing_and_says_why(voice, control):  # noqa: F811
    voice.wait_for('s.tokenHeld', timeout_ms=20_000)
    voice.page.evaluate(SLOW_SOCKET_JS, 400)
    before = len(control.sessions())
    call(voice, 'start')
    voice.page.wait_for_function('window.__micOpenAt !== undefined', timeout=20_000)
    voice.page.wait_for_timeout(150)  # capturing already, the socket not yet open
    call(voice, 'stop')
    voice.page.get_by_text('Nothing was heard').wait_for(timeout=10_000)
    voice.wait_status('idle', timeout_ms=5000)
    voice.page.wait_for_timeout(500)
    [log] = sessions_since(control, before)
    types = [e['type'] for e in log['client_events']]
    assert ClientEvent.INPUT_AUDIO_APPEND not in types and ClientEvent.INPUT_AUDIO_COMMIT not in types, types
    voice.turn(0.8)  # and the page goes on
