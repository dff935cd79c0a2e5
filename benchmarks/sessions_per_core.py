"""Talking sessions per core on the OpenAI path (issue 15): the app only serves the page and takes the component's
events; audio goes from the browser to the Realtime server and never reaches it.

    python benchmarks/sessions_per_core.py [--sessions 40 80] [--seconds 40] [--turn-s 8]

1. An embedded server in its own process stands in for OpenAI (it mints the tokens and talks to the browser);
   the app (`python main.py` with an OpenAI key and base URL pointing there) runs in another.
2. One real page in headless Chromium (fake mic) takes two turns; what its component sends Python on the second
   turn is recorded (the socket messages with their timing), and so is every non-audio server event of that turn,
   which is what the seed's client forwarded one by one (with each status change).
3. N simulated pages (NiceGUI's own socket, as a browser opens it: GET /, socket.io, a token asked for) replay that
   turn back to back, a turn every `--turn-s` seconds (100 % duty: someone is always talking), item ids new per turn.
   The app process's CPU time over the window (from /proc) gives CPU per session-minute and sessions per core.
   The same is then done with the seed-style stream. The load average is printed beside every row: other processes
   on these 2 cores (the simulated pages among them) slow the app down, so the figures are a floor, not a ceiling.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.harness import ServerProcess, chromium_args, chromium_path  # noqa: E402
from tests.support import TESTDATA, free_port  # noqa: E402

ELEMENTS = re.compile(r'parseElements\(String\.raw`(.*?)`\)', re.S)
CLIENT_ID = re.compile(r"'client_id': '([0-9a-f-]+)'")
IDS = re.compile(r'"((?:item|resp|call)_[A-Za-z0-9_]+)"')
KEY = 'bench-key'
# Recorded in the page: each message the component emits to Python, and each non-audio server event.
RECORD_JS = '''(id) => {
  const v = getElement(id).voice;
  window.__sent = []; window.__server = [];
  const emit = v.link.emit;
  v.link.emit = (name, payload) => { window.__sent.push([performance.now(), name, payload]); emit(name, payload); };
  const onServerEvent = v.onServerEvent.bind(v);
  v.onServerEvent = (socket, event) => {
    if (event.type !== 'response.output_audio.delta') window.__server.push([performance.now(), event]);
    onServerEvent(socket, event);
  };
}'''
STATUS_JS = '''(id) => { const v = getElement(id).voice; window.__status = [];
  const set = v.setStatus.bind(v);
  v.setStatus = (s) => { if (s !== v.status) window.__status.push([performance.now(), s]); set(s); }; }'''
DELTAS = {'conversation.item.input_audio_transcription.delta': 'user',
          'response.output_audio_transcript.delta': 'assistant', 'response.output_text.delta': 'assistant'}


def cpu_seconds(pid: int) -> float:
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def record_turn(app_url: str) -> tuple[list, list, float]:
    """(new messages, seed-style messages, turn seconds) of one warm turn of the real page: [(offset s, name, args)]."""
    sys.path.insert(0, str(REPO / 'benchmarks'))
    from client_latency import Page
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=chromium_args(TESTDATA / 'weather.mic48k.wav'))
        page = Page(browser, app_url)
        page.wait('s.tokenHeld', 30_000)
        page.turn()
        page.page.evaluate(RECORD_JS, page.id)
        page.page.evaluate(STATUS_JS, page.id)
        started = page.page.evaluate('performance.now()')
        page.turn()
        page.page.wait_for_timeout(500)
        sent, server, statuses = (page.page.evaluate(f'window.__{n}') for n in ('sent', 'server', 'status'))
        ended = page.page.evaluate('performance.now()')
        browser.close()
    new = [((t - started) / 1000, name, payload) for t, name, payload in sent]
    old = [((t - started) / 1000, 'status', {'status': s, 'turn': 2}) for t, s in statuses]
    for t, event in server:  # the seed forwarded every non-audio server event, each delta on its own
        if event['type'] in DELTAS:
            args = {'item_id': event['item_id'], 'role': DELTAS[event['type']], 'delta': event['delta'],
                    'replace': False, 'final': False}
            old.append(((t - started) / 1000, 'transcript', args))
        else:
            old.append(((t - started) / 1000, 'realtime_event', event))
    old.append((max(o for o, _, _ in old), 'realtime_event', {'type': 'playback', 'frames': 0}))  # its report
    return new, sorted(old, key=lambda row: row[0]), (ended - started) / 1000


def renamed(turn: list, suffix: str) -> list:
    """The turn with every item, response and call id made unique (a new turn of the conversation)."""
    text = IDS.sub(lambda m: f'"{m.group(1)[:20]}{suffix}"', json.dumps(turn))
    return json.loads(text)


def listeners(html: str) -> dict[str, tuple[int, str]]:
    found = {}
    for element_id, element in json.loads(ELEMENTS.search(html).group(1)).items():
        for event in element.get('events') or []:
            found.setdefault(event['type'], (int(element_id), event['listener_id']))
    return found


async def simulated_page(url: str, turn: list, turn_s: float, stop: asyncio.Event, counts: dict) -> None:
    import socketio
    for attempt in range(3):  # on a starved machine NiceGUI's handshake can time out: a browser would retry too
        try:
            async with httpx.AsyncClient(timeout=60) as http:
                response = await http.get(url + '/')
                client_id = CLIENT_ID.search(response.text).group(1)
                found = listeners(response.text)
                cookie = '; '.join(f'{k}={v}' for k, v in http.cookies.items())
            sio = socketio.AsyncClient(reconnection=False)
            tokens = asyncio.Event()
            sio.on('*', lambda event, data=None, tokens=tokens: tokens.set() if 'ek_' in json.dumps(data) else None)
            await sio.connect(f'{url}/?client_id={client_id}&next_message_id=0&implicit_handshake=true'
                              f'&tab_id={uuid.uuid4()}&document_id={uuid.uuid4()}',
                              socketio_path='/_nicegui_ws/socket.io', headers={'Cookie': cookie},
                              transports=['websocket'], wait_timeout=60)
            break
        except (socketio.exceptions.ConnectionError, httpx.HTTPError):
            if attempt == 2:
                raise
            await asyncio.sleep(2)

    async def emit(name: str, args) -> None:
        element, listener = found[name]
        await sio.emit('event', {'id': element, 'client_id': client_id, 'listener_id': listener,
                                 'args': [json.dumps(args)]})
        counts['messages'] += 1

    await emit('token_wanted', {'reason': 'prefetch'})  # as the page asks when it opens: Python mints one
    await asyncio.wait_for(tokens.wait(), 60)
    counts['ready'] += 1
    number = 0
    while not stop.is_set():
        number += 1
        begin = time.monotonic()
        for offset, name, args in renamed(turn, f'{uuid.uuid4().hex[:6]}{number}'):
            await asyncio.sleep(max(0.0, begin + offset - time.monotonic()))
            if stop.is_set():
                break
            await emit(name, args)
        await asyncio.sleep(max(0.0, begin + turn_s - time.monotonic()))
    await sio.disconnect()


async def measure(url: str, pid: int, sessions: int, turn: list, turn_s: float, seconds: float) -> dict:
    stop = asyncio.Event()
    counts = {'messages': 0, 'ready': 0}
    tasks = []
    for _ in range(sessions):  # opened a few at a time, as people arrive
        tasks.append(asyncio.create_task(simulated_page(url, turn, turn_s, stop, counts)))
        await asyncio.sleep(0.15)
    deadline = time.monotonic() + 120
    while counts['ready'] < sessions and time.monotonic() < deadline and not any(t.done() for t in tasks):
        await asyncio.sleep(0.2)
    await asyncio.sleep(turn_s)  # everyone is mid-conversation
    cpu0, messages0, t0 = cpu_seconds(pid), counts['messages'], time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, messages1, t1 = cpu_seconds(pid), counts['messages'], time.monotonic()
    loadavg = os.getloadavg()
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        print(f'{len(failed)} simulated pages failed, e.g. {failed[0]!r}', flush=True)
    cores = (cpu1 - cpu0) / (t1 - t0)
    talking = sessions - len(failed)  # a page that failed did so before or while talking: not counted
    return {'sessions': talking, 'failed': len(failed), 'messages_s': (messages1 - messages0) / (t1 - t0),
            'cores': cores, 'cpu_ms_per_session_min': cores * 60_000 / max(1, talking),
            'per_core': talking / cores if cores else float('inf'), 'load': loadavg}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sessions', type=int, nargs='+', default=[40, 80])
    parser.add_argument('--seconds', type=float, default=40, help='measurement window per row')
    parser.add_argument('--turn-s', type=float, default=8, help='a turn every this many seconds per session')
    args = parser.parse_args()
    if not chromium_path():
        sys.exit('chromium not found: apt-get install chromium')
    up_port, app_port = free_port(), free_port()
    upstream = ServerProcess('bench-upstream', ['-m', 'voice_ui.local_realtime', '--port', str(up_port),
                                                '--api-key', KEY], up_port, ready_path='/v1/realtime/client_secrets')
    upstream.wait_ready()
    env = {'OPENAI_API_KEY': KEY, 'OPENAI_BASE_URL': f'http://127.0.0.1:{up_port}/v1',
           'VOICE_UI_MINTS_PER_MINUTE': '10000', 'VOICE_UI_MAX_SESSIONS': '10000'}
    app = ServerProcess('bench-app', ['main.py', '--port', str(app_port), '--no-browser'], app_port, env=env)
    app.wait_ready()
    try:
        new, old, recorded_s = record_turn(app.url)
        print(f'recorded turn: {recorded_s:.1f} s in the page; {len(new)} messages to Python '
              f'({sum(len(a) for _, n, a in new if n == "batch")} events in them); '
              f'seed-style: {len(old)} messages', flush=True)
        for offset, _name, entries in new:
            print(f'  {offset:6.2f} s  {[e[1].get("type") or e[1].get("status") or e[0] for e in entries]}')
        span = max(o for o, _, _ in new + old)
        scale = min(1.0, (args.turn_s - 0.5) / span)  # the recorded pace, squeezed into one turn if it was slower
        rows = []
        for kind, turn in (('voice-ui', new), ('seed-style', old)):
            paced = [(o * scale, n, a) for o, n, a in turn]
            for sessions in args.sessions:
                row = asyncio.run(measure(app.url, app.process.pid, sessions, paced, args.turn_s, args.seconds))
                row['kind'] = kind
                rows.append(row)
                print(row, flush=True)
    finally:
        app.stop()
        upstream.stop()
    print(f'\ntalking sessions per core — OpenAI path (the app serves pages and takes events; no audio), '
          f'a turn every {args.turn_s:.0f} s per session (100 % duty), {args.seconds:.0f} s windows, 2 cores shared\n')
    header = ('client', 'sessions', 'failed', 'messages/s', 'app cores', 'CPU ms / session-min', 'sessions per core',
              'load avg')
    print(' | '.join(header))
    for r in rows:
        print(f'{r["kind"]} | {r["sessions"]} | {r["failed"]} | {r["messages_s"]:.0f} | {r["cores"]:.3f} | '
              f'{r["cpu_ms_per_session_min"]:.0f} | {r["per_core"]:.0f} | '
              f'{r["load"][0]:.2f} {r["load"][1]:.2f} {r["load"][2]:.2f}')
    print('\ngoal: ≥ 150 talking sessions per core')


if __name__ == '__main__':
    main()
