"""Issue 13's Microphone select and level meters in real Chromium against the real app (embedded server).

Chromium's `--use-fake-device-for-media-stream` lists three audio inputs: its "default" alias ("Fake Default Audio
Input", shown as the system default) and "Fake Audio Input 1" and "2"; each getUserMedia of any of them plays the
test WAV once from its start (0.5 s silence, speech, 0.5 s silence, then silence for good). Unplugging is played by
a test double of the operating system (UNPLUG_JS): an unplugged id is listed no more, refused on open (as Chromium
refuses a missing id: OverconstrainedError) and its live track ends."""
from __future__ import annotations

import os
import time

import pytest

from .checks import assert_played_fully, turns_on_server
from .conftest import open_voice_page, screenshot

HOLD_S = 3.2
INPUT_1, INPUT_2 = 'Fake Audio Input 1', 'Fake Audio Input 2'
MAX_INPUT_LATENCY_MS = 320  # mic-capture.js: at most 300 ms reported latency plus one render quantum

UNPLUG_JS = """
(() => {
  window.__voiceUiUnplugged = new Set();
  const media = navigator.mediaDevices;
  const open = media.getUserMedia.bind(media);
  media.getUserMedia = async (constraints) => {
    const id = constraints && constraints.audio && constraints.audio.deviceId && constraints.audio.deviceId.exact;
    if (id && window.__voiceUiUnplugged.has(id)) {
      window.__voiceUiConstraints.push(JSON.parse(JSON.stringify(constraints)));
      throw new DOMException('', 'OverconstrainedError');
    }
    return open(constraints);
  };
  const list = media.enumerateDevices.bind(media);
  media.enumerateDevices = async () => (await list()).filter((d) => !window.__voiceUiUnplugged.has(d.deviceId));
  window.__voiceUiUnplug = (id, plugged = false) => {
    if (plugged) window.__voiceUiUnplugged.delete(id);
    else window.__voiceUiUnplugged.add(id);
    for (const stream of window.__voiceUiStreams) {
      for (const track of stream.getAudioTracks()) {
        if (!plugged && track.getSettings().deviceId === id && track.readyState === 'live') {
          track.stop();  // stop() fires no 'ended'; a device that goes away does
          track.dispatchEvent(new Event('ended'));
        }
      }
    }
    media.dispatchEvent(new Event('devicechange'));
  };
})();
"""

# Every change of a meter's aria-valuenow, with its time: what a person (or a screen reader) sees.
RECORD_METERS_JS = """(() => {
  window.__voiceUiMeters = { microphone: [], agent: [] };
  for (const [kind, name] of [['microphone', 'Microphone level'], ['agent', 'Agent level']]) {
    const meter = document.querySelector(`[role=meter][aria-label="${name}"]`);
    new MutationObserver(() => window.__voiceUiMeters[kind].push([performance.now(),
      Number(meter.getAttribute('aria-valuenow'))])).observe(meter, { attributes: true,
      attributeFilter: ['aria-valuenow'] });
  }
})()"""


@pytest.fixture
def voice(playwright, chromium, app, control):  # conftest's keyless app with the embedded server's introspection
    control.clear_sessions()
    browser, voice = open_voice_page(playwright, chromium, 'weather', app.url)
    voice.page.add_init_script(UNPLUG_JS)
    voice.open(app.url)  # again, with the unplugging double in place
    yield voice
    browser.close()


def microphone(voice) -> dict:
    return voice.page.evaluate(f'getElement({voice.element_id}).voice.microphone.snapshot()')


def device_id(voice, label: str) -> str:
    [found] = [d['deviceId'] for d in microphone(voice)['devices'] if d['label'] == label]
    return found


def choose(voice, label: str) -> None:
    voice.page.get_by_role('combobox', name='Microphone').click()
    voice.page.get_by_role('option', name=label).click()


def wait_on_device(voice, wanted: str) -> dict:
    voice.page.wait_for_function(f'getElement({voice.element_id}).voice.microphone.snapshot().openedId === '
                                 f'{wanted!r}', timeout=10_000)
    return microphone(voice)


def constraints(voice) -> list[dict]:
    return voice.page.evaluate('window.__voiceUiConstraints')


def live_track(voice) -> dict:
    return voice.page.evaluate(f'''(() => {{ const track = getElement({voice.element_id}).voice.mic.stream
      .getAudioTracks()[0]; return {{ label: track.label, state: track.readyState,
      deviceId: track.getSettings().deviceId }}; }})()''')


def python_events_sent(voice) -> list[str]:
    """Element events the page sent to Python over NiceGUI's socket (not its acks of Python's own messages)."""
    return [f.payload for f in voice.traffic.frames if f.direction == 'sent' and 'socket.io' in f.url
            and isinstance(f.payload, str) and f.payload.startswith('42["event"')]


def assert_asked_exactly(asked: dict, wanted: str) -> None:
    audio = asked['audio']
    assert audio['deviceId'] == {'exact': wanted}, audio
    assert audio['echoCancellation'] and audio['noiseSuppression'] and audio['autoGainControl'], audio


def test_the_select_lists_the_fake_inputs_and_a_switch_between_turns_keeps_the_session(voice, control):
    # Named before any Start (permission is granted): Python fills the select when the browser's list arrives.
    deadline, options = time.monotonic() + 10, []
    while len(options) < 3 and time.monotonic() < deadline:
        voice.page.get_by_role('combobox', name='Microphone').click()
        options = voice.page.get_by_role('option').all_inner_texts()
        voice.page.keyboard.press('Escape')
        voice.page.wait_for_timeout(100)
    assert options == ['System default (Fake Default Audio Input)', INPUT_1, INPUT_2], options

    first = voice.turn(HOLD_S)
    assert_played_fully(first.stats)
    assert 'deviceId' not in constraints(voice)[-1]['audio'], 'the system default is asked for without an id'

    wanted = device_id(voice, INPUT_2)
    choose(voice, INPUT_2)  # the session is open and idle: the capture moves to the new device at once
    wait_on_device(voice, wanted)
    assert_asked_exactly(constraints(voice)[-1], wanted)
    assert live_track(voice) == {'label': INPUT_2, 'state': 'live', 'deviceId': wanted}
    states = voice.page.evaluate('window.__voiceUiStreams.map((s) => s.getAudioTracks()[0].readyState)')
    assert states == ['ended', 'live'], 'the old device must be released'

    second = voice.turn(HOLD_S)  # the new device's stream plays the utterance again from its start
    assert_played_fully(second.stats)
    [log] = control.sessions()
    assert len(voice.traffic.realtime_sockets()) == 1, 'a device switch must not reconnect'
    turns = turns_on_server(log)
    assert [t['type'] for t in turns] == ['input_audio_buffer.commit'] * 2, turns
    assert turns[1]['audio_bytes'] >= 0.9 * HOLD_S * 48_000, turns[1]
    assert len(voice.cards('assistant')) == 2

    # Remembered: the next page of this browser starts on it, and the select shows it.
    voice.open(voice.page.url)
    voice.page.wait_for_function('document.querySelector(".vu-mic-select").innerText.includes("Fake Audio Input 2")')
    voice.start_speaking()
    assert_asked_exactly(constraints(voice)[-1], wanted)
    assert live_track(voice)['label'] == INPUT_2
    screenshot(voice.page, 'e2e-microphone.png')


def test_a_switch_within_a_turn_continues_that_turn_without_a_gap(voice, control):
    voice.start_speaking()
    voice.page.wait_for_timeout(900)
    wanted = device_id(voice, INPUT_1)
    clicked = voice.page.evaluate('performance.now()')
    choose(voice, INPUT_1)
    wait_on_device(voice, wanted)
    switched_ms = voice.page.evaluate('performance.now()') - clicked
    voice.page.wait_for_timeout(1500)
    assert voice.stats()['status'] == 'listening' and voice.stats()['turn'] == 1, 'the same turn goes on'
    voice.stop_speaking()
    stats = voice.wait_reply()

    # The worklet (and its turn) stayed; only its input changed, in one task: every sample from Start to Stop was
    # captured once — none lost in a gap (fewer than held), none twice (more than held plus the input latency).
    held, sent = stats['turnHeldMs'], stats['turnMs']
    assert held - 1 <= sent <= held + MAX_INPUT_LATENCY_MS, (sent, held)
    assert stats['turnCapturedMs'] == sent
    [log] = control.sessions()
    [turn] = turns_on_server(log)
    assert turn['type'] == 'input_audio_buffer.commit' and turn['audio_bytes'] == round(sent * 48), turn
    assert_played_fully(stats)
    assert len(voice.traffic.realtime_sockets()) == 1
    print(f'\nswitch within a turn: on the new device {switched_ms:.0f} ms after the click (incl. opening the '
          f'option list); sent {sent:.1f} ms of {held:.1f} ms held (+{sent - held:.1f} ms input latency), '
          f'load {os.getloadavg()[0]:.1f}')


def test_the_meters_move_with_the_sound_rest_in_silence_and_send_nothing_to_python(voice):
    voice.page.evaluate(RECORD_METERS_JS)
    voice.start_speaking()
    voice.page.wait_for_timeout(300)  # the status event of Start has reached Python (and Playwright's frame log)
    sent_before, forwarded_before = len(python_events_sent(voice)), voice.stats()['forwarded']
    t0 = voice.page.evaluate('performance.now()')
    voice.page.wait_for_timeout(5500)  # the utterance (~3.3 s with its silences), then silence
    t1 = voice.page.evaluate('performance.now()')
    stats = voice.stats()
    assert stats['status'] == 'listening' and stats['micActive'], 'the mic stays open and captures throughout'
    # Only the live captions of what is being said reach Python while the person talks: a meter never does.
    extra = python_events_sent(voice)[sent_before:]
    assert all('delta' in payload and 'user' in payload and 'level' not in payload for payload in extra), extra
    assert stats['forwarded'] - forwarded_before == len(extra), 'a meter must never talk to Python'

    mic = voice.page.evaluate('window.__voiceUiMeters.microphone')
    during = [v for t, v in mic if t0 <= t <= t1]
    assert len(during) >= 20, f'the microphone meter hardly moved: {during}'
    assert max(during) >= 40, f'speech (about -15 to -20 dBFS) should read high: {max(during)}'
    quiet = [v for t, v in mic if t >= t1 - 1200]  # the last 1.2 s: well after the utterance ended
    current = voice.page.get_by_role('meter', name='Microphone level').get_attribute('aria-valuenow')
    assert int(current) <= 3 and all(v <= 5 for v in quiet), (current, quiet)
    print(f'\nmicrophone meter: {len(during)} changes in {(t1 - t0) / 1000:.1f} s, peak {max(during)}, '
          f'{current} in silence, {len(extra)} caption messages to Python; load {os.getloadavg()[0]:.1f}')

    voice.stop_speaking()
    voice.wait_reply()
    agent = [v for _, v in voice.page.evaluate('window.__voiceUiMeters.agent')]
    assert agent and max(agent) >= 20, f'the agent meter should move while the reply plays: {agent}'
    voice.page.wait_for_timeout(800)
    assert voice.page.get_by_role('meter', name='Agent level').get_attribute('aria-valuenow') == '0'
    meter = voice.page.get_by_role('meter', name='Microphone level')
    assert (meter.get_attribute('aria-valuemin'), meter.get_attribute('aria-valuemax')) == ('0', '100')


def test_an_unplugged_device_gives_way_to_the_default_and_is_used_again_when_back(voice, control):
    voice.start_speaking()
    wanted = device_id(voice, INPUT_2)
    choose(voice, INPUT_2)
    wait_on_device(voice, wanted)
    voice.page.evaluate(f'window.__voiceUiUnplug({wanted!r})')  # mid-turn
    wait_on_device(voice, '')
    notice = voice.page.locator('.vu-notice')
    notice.filter(has_text=f'“{INPUT_2}” was disconnected').wait_for(timeout=5000)
    assert live_track(voice)['state'] == 'live' and 'deviceId' not in constraints(voice)[-1]['audio']
    voice.page.wait_for_function('document.querySelector(".vu-mic-select").innerText.includes("System default")')
    voice.page.wait_for_timeout(800)
    voice.stop_speaking()
    stats = voice.wait_reply()  # the turn was committed and answered on the same socket
    assert_played_fully(stats)
    assert stats['turnMs'] >= stats['turnHeldMs'] - 1, stats
    assert len(control.sessions()) == 1 and len(voice.traffic.realtime_sockets()) == 1

    voice.page.evaluate(f'window.__voiceUiUnplug({wanted!r}, true)')  # plugged in again
    wait_on_device(voice, wanted)
    notice.filter(has_text=f'Using “{INPUT_2}” again').wait_for(timeout=5000)
    assert_asked_exactly(constraints(voice)[-1], wanted)

    # Gone when the next page starts: it says so at once, and Start opens the default.
    voice.page.evaluate(f'window.__voiceUiUnplug({wanted!r})')
    voice.page.add_init_script(f'window.__voiceUiUnplugged.add({wanted!r})')
    voice.open(voice.page.url)
    voice.page.locator('.vu-notice').filter(has_text='is not connected').wait_for(timeout=10_000)
    voice.start_speaking()
    assert live_track(voice)['state'] == 'live' and 'deviceId' not in constraints(voice)[-1]['audio']


LEVEL_AND_LIST_JS = """async () => {
  const { loadWorklets } = await import('voice-ui/audio/worklets.js');
  const { inputList, MAX_DEVICES } = await import('voice-ui/mic-devices.js');
  const { levelPercent } = await import('voice-ui/level-meter.js');
  const ctx = new AudioContext({ sampleRate: 48000 });
  await loadWorklets(ctx);
  const node = new AudioWorkletNode(ctx, 'capture-processor', { numberOfInputs: 1, numberOfOutputs: 0,
    channelCount: 1, channelCountMode: 'explicit', processorOptions: { targetRate: 24000, chunkMs: 40, levelMs: 50 } });
  const levels = [];
  node.port.onmessage = (e) => {
    if (e.data.type === 'level') levels.push([ctx.currentTime, e.data.rms, e.data.peak]);
  };
  const osc = new OscillatorNode(ctx, { frequency: 440 });
  const gain = new GainNode(ctx, { gain: 0.5 });
  osc.connect(gain).connect(node);
  osc.start();
  await new Promise((r) => setTimeout(r, 1000));
  gain.gain.value = 0;  // silence: the level follows within one report
  await new Promise((r) => setTimeout(r, 400));
  await ctx.close();
  const many = Array.from({ length: 50 }, (_, i) => ({ kind: 'audioinput', deviceId: `id${i}`, label: 'Same mic' }));
  return {
    levels, percents: [levelPercent(0), levelPercent(1e-4), levelPercent(0.1), levelPercent(1), levelPercent(NaN)],
    list: inputList([
      { kind: 'audioinput', deviceId: 'default', label: 'Default - Built-in Mic' },
      { kind: 'audioinput', deviceId: 'a', label: 'USB Mic' }, { kind: 'audioinput', deviceId: 'b', label: 'USB Mic' },
      { kind: 'audioinput', deviceId: 'c', label: '' }, { kind: 'audiooutput', deviceId: 'd', label: 'Speakers' },
      { kind: 'audioinput', deviceId: '', label: '' }]),
    unlabelled: inputList([{ kind: 'audioinput', deviceId: '', label: '' }]),
    many: inputList(many).list.length, max: MAX_DEVICES,
  };
}"""


def test_the_worklet_reports_the_level_twenty_times_a_second_and_the_list_names_each_device_once(voice):
    result = voice.page.evaluate(LEVEL_AND_LIST_JS)
    levels = result['levels']
    tone = [(t, rms, peak) for t, rms, peak in levels if 0.2 <= t <= 0.9]
    assert 11 <= len(tone) <= 17, f'about 20 reports a second, not per frame: {len(tone)} in 0.7 s'
    assert all(abs(rms - 0.5 / 2 ** 0.5) < 0.01 and abs(peak - 0.5) < 0.01 for _, rms, peak in tone), tone
    assert levels[-1][1] == 0 and levels[-1][2] == 0, 'silence reads zero'
    assert result['percents'] == [0, 0, pytest.approx(100 * 40 / 60), 100, 0]

    assert result['list'] == {'labelled': True, 'list': [
        {'deviceId': '', 'label': 'System default (Built-in Mic)'}, {'deviceId': 'a', 'label': 'USB Mic'},
        {'deviceId': 'b', 'label': 'USB Mic (2)'}, {'deviceId': 'c', 'label': 'Microphone 3'}]}
    assert result['unlabelled'] == {'labelled': False, 'list': [{'deviceId': '', 'label': 'System default'}]}
    assert result['many'] == result['max'] + 1, 'the default and at most MAX_DEVICES inputs'
