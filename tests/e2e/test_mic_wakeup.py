"""A microphone that opens before its sound flows, in real Chromium against the embedded server.

Firefox does this after the first getUserMedia of a running AudioContext: its audio clock stands still for ~2 s
while the page said "Listening", and speech begun then lost its first words. Here the microphone's source is
connected to the capture worklet only after a delay (or never), which is what the page sees in that pause: a
stream that is open and no input reaching the worklet. "Listening" must wait for the sound; no sound at all is a
clear microphone error, and the next Start works.
"""
from __future__ import annotations

from voice_ui.protocol import ClientEvent

from .checks import turns_on_server
from .test_turn_races import call, sessions_since, voice  # noqa: F401 (its page fixture)

# The stream opens at once; its source reaches the worklet `delayMs` later (never for null) until `restore()`.
LATE_SOUND_JS = '''(delayMs) => {
  const devices = navigator.mediaDevices, getUserMedia = devices.getUserMedia.bind(devices);
  const connect = MediaStreamAudioSourceNode.prototype.connect;
  devices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    window.__micOpenAt = performance.now();
    return stream;
  };
  MediaStreamAudioSourceNode.prototype.connect = function (...args) {
    const late = () => { window.__soundAt = performance.now(); connect.apply(this, args); };
    if (delayMs !== null) setTimeout(late, delayMs);
    return args[0];
  };
  window.__restoreSound = () => {
    devices.getUserMedia = getUserMedia;
    MediaStreamAudioSourceNode.prototype.connect = connect;
  };
}'''
SOUND_DELAY_MS = 1500


def test_listening_is_shown_only_once_the_microphones_sound_flows(voice, control):  # noqa: F811
    voice.wait_for('s.tokenHeld', timeout_ms=20_000)
    voice.page.evaluate(LATE_SOUND_JS, SOUND_DELAY_MS)
    before = len(control.sessions())
    listening = voice.start_speaking()
    mic_open_at, sound_at = voice.page.evaluate('[window.__micOpenAt, window.__soundAt]')
    assert sound_at is not None and sound_at - mic_open_at >= SOUND_DELAY_MS - 50, 'the sound was not the late one'
    # Before the fix "Listening" came as soon as the socket was set up, ~1.5 s before any sound reached the page.
    shown_at = next(e['t'] for e in listening['statusLog'] if e['status'] == 'listening')
    assert shown_at >= sound_at + 50, (shown_at - sound_at, listening['statusLog'])
    assert voice.page.get_by_text('sends no sound').count() == 0
    voice.page.wait_for_timeout(800)
    voice.stop_speaking()
    stats = voice.wait_for('s.turns >= 1 && s.stopToCommitMs !== null', timeout_ms=10_000)
    voice.wait_reply()
    # The turn is the sound from the moment it flowed up to the Stop, all of it, and it was answered.
    assert stats['turnMs'] >= stats['turnHeldMs'] - 1 and stats['turnMs'] >= 800, stats
    [log] = sessions_since(control, before)
    [turn] = turns_on_server(log)
    assert turn['type'] == ClientEvent.INPUT_AUDIO_COMMIT and turn['audio_bytes'] == round(stats['turnMs'] * 48)


def test_a_microphone_that_never_sends_sound_is_a_clear_error_and_the_next_start_works(voice, control):  # noqa: F811
    voice.wait_for('s.tokenHeld', timeout_ms=20_000)
    voice.page.evaluate(LATE_SOUND_JS, None)
    voice.click('Start Speaking')
    voice.page.get_by_text('The microphone opened but sends no sound').wait_for(timeout=20_000)
    stats = voice.wait_status('error', timeout_ms=5000)
    assert 'listening' not in [e['status'] for e in stats['statusLog']], stats['statusLog']
    assert not stats['micActive'], 'the silent microphone was left open'
    voice.page.evaluate('window.__restoreSound()')
    voice.turn(0.8)  # and the page goes on
    assert voice.page.get_by_text('The microphone opened but sends no sound').count() == 0


def test_stop_before_the_sound_flows_commits_nothing_and_the_next_turn_is_whole(voice, control):  # noqa: F811
    voice.wait_for('s.tokenHeld', timeout_ms=20_000)
    voice.page.evaluate(LATE_SOUND_JS, 3 * SOUND_DELAY_MS)
    before = len(control.sessions())
    voice.click('Start Speaking')
    voice.wait_for('s.socketState === "open"', timeout_ms=20_000)  # set up, still waiting for the sound
    assert voice.stats()['status'] == 'connecting'
    call(voice, 'stop')  # Space or the press's release: the Stop button is enabled only while listening
    voice.page.get_by_text('Nothing was heard').wait_for(timeout=10_000)
    voice.wait_status('idle', timeout_ms=5000)
    voice.page.evaluate('window.__restoreSound()')
    result = voice.turn(0.8)
    [log] = sessions_since(control, before)
    types = [e['type'] for e in log['client_events']]
    assert ClientEvent.INPUT_AUDIO_CLEAR in types, types
    turns = turns_on_server(log)  # the first turn's buffer cleared, then only the second turn committed, whole
    assert {t['type'] for t in turns[:-1]} == {ClientEvent.INPUT_AUDIO_CLEAR}, turns
    turn = turns[-1]
    assert turn['audio_bytes'] == round(result.stats['turnMs'] * 48), (turn, result.stats['turnMs'])


def test_close_while_waiting_for_the_sound_releases_the_microphone_and_reports_nothing(voice, control):  # noqa: F811
    voice.wait_for('s.tokenHeld', timeout_ms=20_000)
    voice.page.evaluate(LATE_SOUND_JS, None)
    voice.click('Start Speaking')
    voice.wait_for('s.socketState === "open" && s.status === "connecting"', timeout_ms=20_000)
    voice.click('Close Session')
    voice.page.wait_for_timeout(9000)  # past the wait's 8 s: a stale wait must not report a silent microphone
    stats = voice.stats()
    assert stats['status'] == 'closed' and not stats['micActive'] and stats['socketState'] == 'closed', stats
    assert voice.page.get_by_text('sends no sound').count() == 0
    voice.page.evaluate('window.__restoreSound()')
    voice.turn(0.8)


def test_a_connection_dropped_while_waiting_for_the_sound_leaves_nothing_stuck(voice, control):  # noqa: F811
    voice.wait_for('s.tokenHeld', timeout_ms=20_000)
    voice.page.evaluate(LATE_SOUND_JS, None)
    voice.click('Start Speaking')
    voice.wait_for('s.socketState === "open" && s.status === "connecting"', timeout_ms=20_000)
    voice.page.evaluate('(id) => getElement(id).voice.socket.ws.close(4321, "dropped")', voice.element_id)
    voice.page.evaluate('window.__restoreSound()')  # the reconnect's microphone has sound
    voice.page.wait_for_timeout(9000)  # past the abandoned wait's 8 s
    stats = voice.stats()
    # The session is renewed (reconnecting, then idle with a socket and a microphone), and nothing else is reported.
    assert stats['status'] == 'idle' and stats['socketState'] == 'open' and stats['micActive'], stats['statusLog']
    assert voice.page.get_by_text('sends no sound').count() == 0
    voice.turn(0.8)  # and the next Start works
