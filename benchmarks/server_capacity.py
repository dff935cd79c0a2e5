"""Capacity of the standalone embedded server: `python benchmarks/server_capacity.py --clients 100,200,400`.

For each N, starts `python -m voice_ui.local_realtime --agent echo` (real-time pacing, one process, or
`--workers W`) and N talking echo clients spread over several client processes (minimal asyncio WebSocket
clients with precomputed frames), so the client side does not starve the server's event loop. Every client
repeats the issue's load shape: a 3 s turn of 40 ms `input_audio_buffer.append`s at real-time pace,
`commit`, `response.create`, then reads the reply to `response.done`. Printed per N, over a measuring
window after every client is connected:
  p50/p95 ms   commit -> first `response.output_audio.delta`
  CPU ms/turn  CPU time of the server process(es) per client-turn (psutil)
  server CPU%  of one core; load average (1 min) at the end of the window
  CPU ms/turn all  the same over the whole run (connecting included): a fixed amount of work, so it compares
               builds even when a loaded machine starves the server (then the window figures are noise)
The machine may be shared: the load average is printed beside every figure. It prints figures; it is not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
KEY = 'sk-capacity-bench'
RATE, APPEND_MS, TURN_MS = 24_000, 40, 3000
GOAL_P95_MS = 150


def turn_messages() -> list[bytes]:
    """A 3 s tone (not silence, so a reply has audio), as precomputed append frames."""
    import array
    samples = array.array('h', (int(8000 * math.sin(2 * math.pi * 220 * i / RATE)) for i in range(RATE * 3)))
    pcm = samples.tobytes()
    step = RATE * 2 * APPEND_MS // 1000
    return [frame(json.dumps({'type': 'input_audio_buffer.append',
                              'audio': base64.b64encode(pcm[i:i + step]).decode()}).encode())
            for i in range(0, len(pcm), step)]


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked client frame, built once and reused (the mask is fixed: the server cannot tell, and the client
    side costs one `write` per message, so client processes do not starve the server on a shared machine)."""
    mask = b'\x37\xfa\x21\x3d'
    size = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | size]) if size < 126 else
                                     bytes([0x80 | 126]) + size.to_bytes(2, 'big') if size < 65536 else
                                     bytes([0x80 | 127]) + size.to_bytes(8, 'big'))
    key = int.from_bytes((mask * (size // 4 + 1))[:size], 'big')
    return head + mask + (int.from_bytes(payload, 'big') ^ key).to_bytes(size, 'big')


class RawClient:
    """A minimal WebSocket client: handshake, precomputed frames out, frames in (server frames are unmasked)."""

    async def connect(self, host: str, port: int, path: str) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f'GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n'
                           f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n'
                           f'Sec-WebSocket-Protocol: realtime\r\nAuthorization: Bearer {KEY}\r\n\r\n').encode())
        head = await self.reader.readuntil(b'\r\n\r\n')
        if not head.startswith(b'HTTP/1.1 101'):
            raise RuntimeError(f'handshake refused: {head[:80]!r}')

    async def recv(self) -> bytes:
        while True:
            first, second = await self.reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                size = int.from_bytes(await self.reader.readexactly(2), 'big')
            elif size == 127:
                size = int.from_bytes(await self.reader.readexactly(8), 'big')
            payload = await self.reader.readexactly(size) if size else b''
            opcode = first & 0x0F
            if opcode == 0x9:
                self.writer.write(frame(payload, 0xA))
            elif opcode == 0x8:
                raise ConnectionError(f'closed by the server: {payload[:2].hex()} {payload[2:80]!r}')
            elif opcode in (0x1, 0x2):
                return payload


async def client(host: str, port: int, appends: list[bytes], start_at: float, stop_at: float,
                 results: list) -> None:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    ws = RawClient()
    await ws.connect(host, port, '/v1/realtime?model=gpt-realtime')
    ws.writer.write(frame(json.dumps({'type': 'session.update', 'session': {
        'type': 'realtime', 'audio': {'input': {'turn_detection': None}}}}).encode()))
    commit = frame(b'{"type":"input_audio_buffer.commit"}') + frame(b'{"type":"response.create"}')
    try:
        while time.monotonic() < stop_at:
            begin = time.monotonic()
            for index, message in enumerate(appends):
                ws.writer.write(message)
                await asyncio.sleep(max(0.0, begin + (index + 1) * APPEND_MS / 1000 - time.monotonic()))
            committed = time.monotonic()
            ws.writer.write(commit)
            first = None
            while True:
                raw = await ws.recv()
                if first is None and b'"response.output_audio.delta"' in raw[:60]:
                    first = time.monotonic()
                elif b'"response.done"' in raw[:60]:
                    break
            if first is not None:
                results.append((committed, first - committed))
    finally:
        ws.writer.close()


def client_process(port: int, count: int, ramp_s: float, run_s: float, offset: float, queue) -> None:
    async def main() -> list:
        appends = turn_messages()
        results: list = []
        now = time.monotonic()
        stop_at = now + ramp_s + run_s
        tasks = [client('127.0.0.1', port, appends, now + offset + ramp_s * i / max(1, count), stop_at, results)
                 for i in range(count)]
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
        return [results, failures]
    results, failures = asyncio.run(main())
    queue.put((time.monotonic(), results, failures[:3], len(failures)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    command = [sys.executable, '-m', 'voice_ui.local_realtime', '--port', str(port), '--api-key', KEY,
               '--agent', 'echo', '--max-sessions', '100000']
    if workers > 1:
        command += ['--workers', str(workers)]
    env = {**os.environ, 'PYTHONPATH': str(REPO)}
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) == 0:
                return server
        time.sleep(0.1)
    server.kill()
    raise RuntimeError('the server did not start')


def server_cpu(server: psutil.Process) -> float:
    processes = [server, *server.children(recursive=True)]
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(clients: int, procs: int, ramp_s: float, run_s: float, workers: int, profile: str | None) -> dict:
    port = free_port()
    server = start_server(port, workers)
    process = psutil.Process(server.pid)
    queue = multiprocessing.Queue()
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    workers_ = [multiprocessing.Process(target=client_process,
                                        args=(port, n, ramp_s, run_s, ramp_s * i / procs / max(1, n), queue))
                for i, n in enumerate(per) if n]
    cpu_before = server_cpu(process)
    try:
        for worker in workers_:
            worker.start()
        time.sleep(ramp_s + 3.5)  # every client connected and into its first full turn
        window_start, cpu_start = time.monotonic(), server_cpu(process)
        spy = None if not profile else subprocess.Popen(  # py-spy (pip install py-spy): collapsed stacks
            ['py-spy', 'record', '-p', str(server.pid), '-d', str(int(max(1.0, run_s - 5.0))), '-f', 'raw',
             '-o', f'{profile}-{clients}.txt', '--nonblocking'], stdout=subprocess.DEVNULL)
        time.sleep(max(1.0, run_s - 4.0))
        if spy is not None:
            spy.wait()
        window_end, cpu_end = time.monotonic(), server_cpu(process)
        load = os.getloadavg()
        outputs = [queue.get(timeout=ramp_s + run_s + 120) for _ in workers_]
        cpu_all = server_cpu(process) - cpu_before  # the whole run: every turn, connecting included
    finally:
        for worker in workers_:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
        server.terminate()
        server.wait(timeout=10)
    # per-process monotonic clocks agree on Linux (CLOCK_MONOTONIC is system-wide)
    latencies = sorted(lat for _, results, _, _ in outputs for committed, lat in results
                       if window_start <= committed <= window_end)
    all_turns = sum(len(results) for _, results, _, _ in outputs)
    failures = sum(n for *_, n in outputs)
    samples = [f for _, _, fs, _ in outputs for f in fs]
    turns = len(latencies)
    cpu_s = cpu_end - cpu_start

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else math.nan
    return {'clients': clients, 'turns': turns, 'p50': pct(0.50), 'p95': pct(0.95), 'max': pct(1.0) if turns else 0,
            'cpu_ms_turn': cpu_s * 1000 / turns if turns else math.nan,
            'cpu_ms_turn_all': cpu_all * 1000 / all_turns if all_turns else math.nan,
            'cpu_pct': 100 * cpu_s / (window_end - window_start), 'load': load, 'failures': failures,
            'failure_samples': samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clients', default='100,200,400', help='comma-separated N values (default: %(default)s)')
    parser.add_argument('--client-procs', type=int, default=4, help='client processes (default: %(default)s)')
    parser.add_argument('--ramp', type=float, default=6.0, help='seconds over which clients connect')
    parser.add_argument('--run', type=float, default=20.0, help='seconds of measuring after the ramp')
    parser.add_argument('--profile', metavar='PREFIX', help='py-spy the server into PREFIX-N.txt (collapsed)')
    parser.add_argument('--workers', type=int, default=1, help='server worker processes (default: %(default)s)')
    args = parser.parse_args()
    print(f'cores: {os.cpu_count()}  load average before: {" ".join(f"{x:.2f}" for x in os.getloadavg())}  '
          f'server workers: {args.workers}  client processes: {args.client_procs}', flush=True)
    print(f'{"N":>6} {"turns":>6} {"p50 ms":>8} {"p95 ms":>8} {"max ms":>8} {"CPU ms/turn":>12} {"srv CPU%":>9} '
          f'{"CPU ms/turn all":>16} {"load1":>6} {"fail":>5}', flush=True)
    best = None
    for clients in [int(n) for n in args.clients.split(',')]:
        r = measure(clients, min(args.client_procs, clients), args.ramp, args.run, args.workers, args.profile)
        print(f'{r["clients"]:>6} {r["turns"]:>6} {r["p50"]:>8.0f} {r["p95"]:>8.0f} {r["max"]:>8.0f} '
              f'{r["cpu_ms_turn"]:>12.2f} {r["cpu_pct"]:>9.0f} {r["cpu_ms_turn_all"]:>16.2f} '
              f'{r["load"][0]:>6.2f} {r["failures"]:>5}', flush=True)
        for sample in r['failure_samples']:
            print(f'       failure: {sample[:160]}', flush=True)
        if r['turns'] and r['p95'] <= GOAL_P95_MS and not r['failures']:
            best = clients
    print(f'max N with p95 <= {GOAL_P95_MS} ms and no failures: {best}  '
          f'(load average after: {" ".join(f"{x:.2f}" for x in os.getloadavg())})')


if __name__ == '__main__':
    main()
