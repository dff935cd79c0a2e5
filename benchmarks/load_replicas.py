"""Load test on locust: talking sessions per core, and how throughput grows from 1 to 2 app replicas behind nginx.

    pip install -e '.[redis,load]'; apt-get install nginx redis-server
    python benchmarks/load_replicas.py [--sessions 40 80] [--seconds 30] [--repeats 3]

For each size, `--repeats` rounds of 1 then 2 replicas (interleaved, so a change in the machine's other load hits
both alike): redis-server, the replicas (`python main.py`, state in Redis) and nginx with
deploy/nginx.conf start in a temp dir; locust (benchmarks/load_talking.py, headless, its own process) opens that
many talking sessions through nginx. Once all talk, the replicas' CPU time (from /proc) over the window gives
sessions per core, and the events the replicas count in their own /metrics give the throughput; locust gives the
"transcript -> card" latency. Tokens are minted by the embedded server standing in for OpenAI. The load generator
runs on the same 2 cores as the replicas (and other people's jobs may too): the load average is printed with each
figure,
and the summary gives each figure's median with its spread (min-max over the rounds) and the median of the
per-round 2-vs-1 ratios.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.harness import ServerProcess  # noqa: E402
from tests.scale.cluster import start_cluster  # noqa: E402
from tests.support import free_port  # noqa: E402

LOCUSTFILE = Path(__file__).with_name('load_talking.py')
SPAWN_RATE, TURN_S = 8, 8.0
MAX_WAIT_S = 120.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def scrape(cluster, metric: str) -> int:
    total = 0
    for app in cluster.apps.values():
        text = httpx.get(app.url + '/metrics', timeout=60).text  # a starved replica answers late
        total += int(float(re.search(rf'^{metric} (\S+)', text, re.M).group(1)))
    return total


def scrape_events(cluster) -> int:
    return scrape(cluster, 'voice_ui_realtime_events_total')


def wait_for_talking(cluster, sessions: int) -> float:
    """Seconds waited until the replicas hold every session open (at most MAX_WAIT_S): the window then measures
    the same load whatever the machine's state, and the table says how long the ramp overran."""
    started = time.monotonic()
    while time.monotonic() - started < MAX_WAIT_S and scrape(cluster, 'voice_ui_voice_sessions') < sessions:
        time.sleep(2)
    return time.monotonic() - started


def measure(replicas: int, sessions: int, seconds: float, upstream: str, workdir: Path) -> dict:
    env = {'OPENAI_API_KEY': 'bench-key', 'OPENAI_BASE_URL': upstream, 'VOICE_UI_SECRET': 'b' * 40,
           'VOICE_UI_TRUSTED_PROXIES': '127.0.0.1', 'VOICE_UI_MINTS_PER_MINUTE': '10000',
           'VOICE_UI_MAX_SESSIONS': '10000'}
    cluster = start_cluster(workdir, env, names=('a', 'b')[:replicas])
    ramp = sessions / SPAWN_RATE + 2 * TURN_S
    prefix = workdir / 'locust'
    try:
        load = subprocess.Popen([sys.executable, '-m', 'locust', '-f', str(LOCUSTFILE), '--headless', '-u',
                                 str(sessions), '-r', str(SPAWN_RATE), '-t', f'{int(ramp + MAX_WAIT_S + seconds + 5)}s',
                                 '--host', cluster.url, '--csv', str(prefix), '--only-summary', '--stop-timeout', '5'],
                                stdout=subprocess.DEVNULL, stderr=(workdir / 'locust.log').open('w'))
        time.sleep(ramp)  # everyone has started and talks ...
        waited = wait_for_talking(cluster, sessions)  # ... or, on a starved machine, once they do (or enough waiting)
        pids = [app.process.pid for app in cluster.apps.values()]
        cpu0, events0, t0 = sum(map(cpu_seconds, pids)), scrape_events(cluster), time.monotonic()
        gen0 = cpu_seconds(load.pid)
        time.sleep(seconds)
        cpu1, events1, t1 = sum(map(cpu_seconds, pids)), scrape_events(cluster), time.monotonic()
        gen1 = cpu_seconds(load.pid)
        loadavg, open_sessions = os.getloadavg(), scrape(cluster, 'voice_ui_voice_sessions')
        load.send_signal(signal.SIGTERM)  # locust writes its summary and quits
        load.wait(120)
        rows = {row['Name']: row for row in csv.DictReader((workdir / 'locust_stats.csv').open())}
        token, turns = rows.get('token', {}), rows.get('transcript -> card', {})
        talking = int(token.get('Request Count', 0)) - int(token.get('Failure Count', 0))
        cores = (cpu1 - cpu0) / (t1 - t0)
        return {'replicas': replicas, 'sessions': sessions, 'talking': talking, 'cores_used': cores,
                'events_per_s': (events1 - events0) / (t1 - t0),
                'sessions_per_core': open_sessions / cores if cores else 0,
                'turns': int(turns.get('Request Count', 0)), 'failed_turns': int(turns.get('Failure Count', 0)),
                'p50_ms': float(turns.get('50%', 0) or 0), 'p95_ms': float(turns.get('95%', 0) or 0), 'load': loadavg,
                'generator_cores': (gen1 - gen0) / (t1 - t0), 'waited_s': waited, 'open_sessions': open_sessions}
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sessions', type=int, nargs='+', default=[40, 80])
    parser.add_argument('--seconds', type=float, default=30.0)
    parser.add_argument('--repeats', type=int, default=3, help='rounds of 1 then 2 replicas per size')
    args = parser.parse_args()
    port = free_port()  # the OpenAI stand-in: the embedded server's own token endpoint, in its own process
    command = ['-m', 'voice_ui.local_realtime', '--port', str(port), '--api-key', 'bench-key', '--agent', 'echo']
    upstream = ServerProcess('load-upstream', command, port, ready_path='/v1/realtime/client_secrets')
    upstream.wait_ready()
    print(f'{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f} (machine shared with other jobs; '
          'locust runs on the same cores)')
    print('round replicas sessions talking  events/s  cores-used  sessions/core  turn p50/p95 ms  failed  '
          'locust-cores  load(1m)  open-at-end  ramp-overran-s')
    try:
        results = []
        for sessions in args.sessions:
            for round_ in range(1, args.repeats + 1):
                for replicas in (1, 2):
                    with tempfile.TemporaryDirectory() as workdir:
                        try:
                            r = measure(replicas, sessions, args.seconds, f'http://127.0.0.1:{port}/v1', Path(workdir))
                        except (TimeoutError, OSError, httpx.HTTPError) as error:  # a starved machine: say so, go on
                            print(f'{round_:>5} {replicas:>8} {sessions:>8}  round failed: {str(error)[:80]} '
                                  f'(load {os.getloadavg()[0]:.2f})', flush=True)
                            continue
                    r['round'] = round_
                    results.append(r)
                    print(f"{round_:>5} {r['replicas']:>8} {r['sessions']:>8} {r['talking']:>7} "
                          f"{r['events_per_s']:>9.1f} {r['cores_used']:>11.2f} {r['sessions_per_core']:>14.1f} "
                          f"{r['p50_ms']:>8.0f}/{r['p95_ms']:<7.0f} {r['failed_turns']:>6}/{r['turns']:<4} "
                          f"{r['generator_cores']:>12.2f} {r['load'][0]:>9.2f} {r['open_sessions']:>12} "
                          f"{r['waited_s']:>15.0f}", flush=True)
        summarize(results, args.sessions)
    finally:
        upstream.stop()


def spread(values: list[float], digits: int = 1) -> str:
    """Median (min-max): one figure and how far the rounds scattered around it."""
    return f'{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})'


def summarize(results: list[dict], sizes: list[int]) -> None:
    print('\nmedian (min-max) over rounds')
    print('sessions replicas events/s            cores-used          sessions/core        turn p95 ms        load(1m)')
    for sessions in sizes:
        for replicas in (1, 2):
            rows = [r for r in results if r['sessions'] == sessions and r['replicas'] == replicas]
            if not rows:
                continue
            print(f'{sessions:>8} {replicas:>8} {spread([r["events_per_s"] for r in rows]):<19} '
                  f'{spread([r["cores_used"] for r in rows], 3):<19} '
                  f'{spread([r["sessions_per_core"] for r in rows], 0):<20} '
                  f'{spread([r["p95_ms"] for r in rows], 0):<18} {spread([r["load"][0] for r in rows])}')
        ratios = [two['events_per_s'] / max(one['events_per_s'], 1e-9)
                  for one in results for two in results
                  if one['sessions'] == two['sessions'] == sessions and one['round'] == two['round']
                  and (one['replicas'], two['replicas']) == (1, 2)]
        if ratios:
            print(f'{sessions} sessions: 2 replicas carry {spread(ratios, 2)}x the events of 1 (per-round ratios)')


if __name__ == '__main__':
    main()
