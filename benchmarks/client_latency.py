"""Client latency benchmark (issue 15): the real app (embedded server) in headless Chromium with a fake mic.

    python benchmarks/client_latency.py [--runs 5]

Prints one table with the load average (other processes on the machine inflate every figure):
- Stop → commit: from the Stop gesture to `input_audio_buffer.commit` on the wire, and whether the audio up to
  the Stop moment (context time) was all delivered — then the last 200 ms of speech are in the commit;
- warm Start (socket open) and cold Start (page open, token prefetched) → first `input_audio_buffer.append`;
- playback under delta jitter (the embedded server's `delta_jitter_ms` fault): underruns, first delta → first sound;
- aliasing of a 15 kHz tone captured at 48 kHz (the capture worklet alone), and a 1 kHz tone's pass-band gain;
- Python µs per component event with 10 and 400 turns in the conversation (reducer, bound cards, arguments);
- events sent to Python per turn, against what the old client forwarded (every non-audio server event, each
  status change and a playback report): socket messages (the component batches what happens within 50 ms) and the
  events in them;
- how much of the cold Start is getUserMedia (the microphone can only be opened inside the Start gesture).
Talking sessions per core: benchmarks/sessions_per_core.py.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from tests.e2e.harness import LocalServerControl, ServerProcess, Traffic, chromium_args, chromium_path  # noqa: E402
from tests.support import TESTDATA, free_port  # noqa: E402

HOLD_S = 1.2
ALIASING_JS = '''async (freq) => {
  const { loadWorklets } = await import('voice-ui/audio/worklets.js');
  const ctx = new AudioContext({ sampleRate: 48000 });
  await loadWorklets(ctx);
  const node = new AudioWorkletNode(ctx, 'capture-processor', { numberOfInputs: 1, numberOfOutputs: 0,
    channelCount: 1, channelCountMode: 'explicit', processorOptions: { targetRate: 24000, chunkMs: 40 } });
  const samples = [];
  node.port.onmessage = (e) => { if (e.data.type === 'chunk') samples.push(...new Int16Array(e.data.pcm)); };
  const osc = new OscillatorNode(ctx, { frequency: freq });
  osc.connect(new GainNode(ctx, { gain: 0.5 })).connect(node);
  osc.start();
  node.port.postMessage({ type: 'start', turn: 1 });
  await new Promise((r) => setTimeout(r, 1000));
  node.port.postMessage({ type: 'stop', turn: 1, untilTime: ctx.currentTime });
  await new Promise((r) => setTimeout(r, 200));
  await ctx.close();
  return samples;
}'''


GUM_JS = '''() => {  // when each getUserMedia call began and ended (the cold Start waits for it)
  const devices = navigator.mediaDevices, open = devices.getUserMedia.bind(devices);
  window.__gum = [];
  devices.getUserMedia = async (constraints) => {
    const began = performance.now();
    try { return await open(constraints); } finally { window.__gum.push([began, performance.now()]); }
  };
}'''


class Page:
    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page()
        self.traffic = Traffic(self.page)
        self.errors: list[str] = []
        self.page.on('pageerror', lambda error: self.errors.append(str(error)))
        self.page.goto(url)
        self.page.wait_for_selector('.voice-ui-session', state='attached')
        self.id = int(self.page.locator('.voice-ui-session').get_attribute('id').lstrip('c'))
        self.page.evaluate(GUM_JS)

    def stats(self) -> dict:
        return self.page.evaluate(f'getElement({self.id}).getStats()')

    def wait(self, condition: str, timeout_ms: int = 30_000) -> dict:
        self.page.wait_for_function(f'(() => {{ const s = getElement({self.id}).getStats(); return {condition}; }})()',
                                    timeout=timeout_ms, polling=20)
        return self.stats()

    def click(self, label: str) -> None:
        self.page.get_by_role('button', name=label).click()

    def turn(self, hold_s: float = HOLD_S) -> dict:
        """Start, hold, Stop, wait for the played reply; returns the figures of this turn."""
        before = self.stats()
        gums = self.page.evaluate('window.__gum.length')
        self.click('Start Speaking')
        started = self.wait(f's.turn > {before["turn"]} && s.startToAppendMs !== null')
        self.page.wait_for_timeout(hold_s * 1000)
        self.click('Stop Speaking')
        stopped = self.wait(f's.turns > {before["turns"]} && s.stopToCommitMs !== null')
        done = self.wait('s.status === "idle" && s.lastPlayback !== null && s.lastPlayback.at > s.turnStoppedAt',
                         60_000)
        gum = self.page.evaluate(f'window.__gum.slice({gums})')  # this turn opened the microphone (a cold Start)
        gum_ms = gum[-1][1] - gum[-1][0] if gum else None
        return {'start_ms': started['startToAppendMs'], 'stop_commit_ms': stopped['stopToCommitMs'], 'gum_ms': gum_ms,
                'events': done['forwardedEvents'] - before['forwardedEvents'],
                'tail_missing_ms': max(0.0, stopped['turnHeldMs'] - stopped['turnMs']),
                'forwarded': done['forwarded'] - before['forwarded'], 'underruns': done['lastPlayback']['underruns'],
                'first_sound_ms': done['playbackStartedAt'] - done['firstDeltaAt']}


def old_client_events(control: LocalServerControl, since: int) -> int:
    """What the seed's client sent to Python for the events since `since`: every non-audio server event, plus
    five status changes and one playback report per turn."""
    events = control.sessions()[-1]['server_events'][since:]
    return sum(1 for e in events if e != 'response.output_audio.delta') + 5 + 1


def tone_db(samples: list[int], amplitude: float = 0.5) -> float:
    x = np.asarray(samples[1200:-1200], dtype=np.float64) / 32768
    return 20 * np.log10(max(np.sqrt(np.mean(x * x)), 1e-12) / (amplitude / np.sqrt(2)))


def python_us_per_event(turns: int, rounds: int = 5, repeats: int = 8) -> float:
    """µs per component event (as the browser sends them for one turn) with `turns` turns already shown."""
    from nicegui import Client
    from nicegui.events import GenericEventArguments
    from nicegui.page import page

    from voice_ui.access import Access, Identity
    from voice_ui.config import Settings
    from voice_ui.page import Backend, VoicePage
    from voice_ui.token_service import TokenService
    settings = Settings()
    with Client(page('/'), request=None) as client:
        voice = VoicePage(Backend(settings, TokenService(settings), 'bench', None), Access(settings, None),
                          Identity('', 'ip:127.0.0.1', 'anonymous'))
        session = voice.session

        def one_turn(n: int) -> list[tuple[str, dict]]:
            u, a = f'item_u{n}', f'item_a{n}'
            prev = f'item_a{n - 1}' if n else None
            item = {'id': a, 'type': 'message', 'role': 'assistant', 'status': 'in_progress', 'content': []}
            return [('status', {'status': 'listening', 'turn': n}), ('status', {'status': 'stopping', 'turn': n}),
                    ('realtime_event', {'type': 'input_audio_buffer.committed', 'item_id': u,
                                        'previous_item_id': prev}),
                    ('status', {'status': 'thinking', 'turn': n}),
                    ('realtime_event', {'type': 'conversation.item.added', 'previous_item_id': u, 'item': item}),
                    ('transcript', {'item_id': u, 'role': 'user', 'delta': 'what is the weather', 'replace': True,
                                    'final': True}),
                    ('status', {'status': 'speaking', 'turn': n}),
                    *[('transcript', {'item_id': a, 'role': 'assistant', 'delta': 'sunny and warm ',
                                      'replace': False, 'final': False}) for _ in range(3)],
                    ('transcript', {'item_id': a, 'role': 'assistant', 'delta': 'sunny and warm ' * 3,
                                    'replace': True, 'final': True}),
                    ('realtime_event', {'type': 'response.done', 'response': {'id': f'r{n}', 'status': 'completed',
                                                                              'output': [item]}}),
                    ('status', {'status': 'idle', 'turn': n})]

        handlers = {'status': session._status, 'realtime_event': session._server_event,
                    'transcript': session._transcript}

        def feed(events):
            for name, args in events:
                handlers[name](GenericEventArguments(sender=session, client=client, args=args))

        for n in range(turns):
            feed(one_turn(n))
        best = float('inf')  # the least disturbed of several rounds: other processes share the cores
        for repeat in range(repeats):
            batches = [one_turn(turns + (repeat * rounds) + i) for i in range(rounds)]
            gc.collect()
            gc.disable()  # a collection pause is not the cost of one event
            started = time.perf_counter()
            for batch in batches:
                feed(batch)
            elapsed = time.perf_counter() - started
            gc.enable()
            best = min(best, elapsed * 1e6 / sum(len(b) for b in batches))
        return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=5, help='pages (cold starts); each then does warm turns')
    args = parser.parse_args()
    chromium = chromium_path()
    if not chromium:
        sys.exit('chromium not found: apt-get install chromium')
    from playwright.sync_api import sync_playwright

    python_us_per_event(10)  # warm-up: first-use costs are not per-event costs
    us10, us400 = python_us_per_event(10), python_us_per_event(400)
    print(f'Python µs/event: {us10:.0f} at 10 turns, {us400:.0f} at 400', flush=True)
    port = free_port()
    app = ServerProcess('bench-app', ['main.py', '--port', str(port), '--no-browser'], port,
                        env={'OPENAI_API_KEY': '', 'OPENAI_BASE_URL': '', 'VOICE_UI_ALLOW_FAULTS': '1'}).wait_ready()
    control = LocalServerControl(app.url)
    keys = ('cold', 'gum', 'warm', 'stop', 'tail', 'new', 'events', 'old', 'u120', 'f400')
    rows: dict[str, list[float]] = {k: [] for k in keys}
    page_errors: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=chromium_args(TESTDATA / 'weather.mic48k.wav'))
            for _ in range(args.runs):
                page = Page(browser, app.url)
                page.wait('s.tokenHeld', 15_000)  # prefetched while the page is open
                for index in range(3):
                    since = len(control.sessions()[-1]['server_events']) if index else 0
                    figures = page.turn()
                    rows['cold' if index == 0 else 'warm'].append(figures['start_ms'])
                    if index == 0 and figures['gum_ms'] is not None:
                        rows['gum'].append(figures['gum_ms'])
                    rows['stop'].append(figures['stop_commit_ms'])
                    rows['tail'].append(figures['tail_missing_ms'])
                    print(figures, flush=True)
                    if index:
                        rows['new'].append(figures['forwarded'])
                        rows['events'].append(figures['events'])
                        rows['old'].append(old_client_events(control, since))
                page_errors += page.errors
                page.page.close()
            page = Page(browser, app.url)
            for jitter, key in ((120, 'u120'), (400, 'f400')):
                control.set_faults(delta_jitter_ms=jitter, seed=7)
                for _ in range(args.runs):
                    figures = page.turn(0.8)
                    rows[key].append(figures['underruns'] if key == 'u120' else figures['first_sound_ms'])
            control.set_faults()
            alias = tone_db(page.page.evaluate(ALIASING_JS, 15000))
            passband = tone_db(page.page.evaluate(ALIASING_JS, 1000))
            page_errors += page.errors
            browser.close()
    finally:
        app.stop()
    med = statistics.median
    tail_ok = sum(1 for t in rows['tail'] if t == 0)
    print(f'\nclient latency — {args.runs} pages × 3 turns, load average {os.getloadavg()[0]:.2f} '
          f'{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (2 cores shared)\n')
    table = [
        ('Stop → commit (median / max)', f'{med(rows["stop"]):.1f} / {max(rows["stop"]):.1f} ms', '≤ 25 ms median'),
        ('audio up to Stop delivered', f'{tail_ok}/{len(rows["tail"])} turns (max gap {max(rows["tail"]):.1f} ms)',
         'last 200 ms every run'),
        ('warm Start → first append', f'{med(rows["warm"]):.1f} ms median (max {max(rows["warm"]):.1f})', '≤ 40 ms'),
        ('cold Start → first append', f'{med(rows["cold"]):.1f} ms median (max {max(rows["cold"]):.1f})', '≤ 120 ms'),
        ('  of which getUserMedia', f'{med(rows["gum"]):.1f} ms median' if rows['gum'] else '–', '(in the gesture)'),
        ('underruns at 120 ms jitter', f'{sum(rows["u120"]):.0f} in {len(rows["u120"])} replies', '0'),
        ('first delta → sound, 400 ms jitter', f'{med(rows["f400"]):.1f} ms median (max {max(rows["f400"]):.1f})',
         '≤ 150 ms'),
        ('15 kHz tone captured at 48 kHz', f'{alias:.1f} dB (1 kHz: {passband:+.2f} dB)', '≤ −40 dB'),
        ('Python µs/event, 10 → 400 turns', f'{us10:.0f} → {us400:.0f} µs ({us400 / us10:.2f}×)', '≤ 1.5×'),
        ('messages to Python per turn', f'{med(rows["new"]):.0f} ({med(rows["events"]):.0f} events; old client: '
         f'{med(rows["old"]):.0f}, {med(rows["old"]) / med(rows["new"]):.1f}× fewer)', '≥ 3× fewer'),
        ('page errors', str(len(page_errors)), '0'),
    ]
    width = max(len(r[0]) for r in table)
    for name, value, goal in table:
        print(f'{name:<{width}}  {value:<48}  goal {goal}')


if __name__ == '__main__':
    main()
