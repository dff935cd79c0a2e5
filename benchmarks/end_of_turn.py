"""semantic_vad's end-of-turn model: `python benchmarks/end_of_turn.py` (needs the `turn` extra).

For each voice detector (Silero, the default for an agent that hears, and energy) and each test recording,
whole and cut mid-sentence, prints:
  p(complete)    smart-turn v3.2's probability that the turn is finished, for the audio the detector hands it
                 at the last short pause
  CPU ms         process CPU of one judgement (resampling, features, inference), median of 5
  wall ms        its wall time, median of 5
  end (model)    from the end of speech to `input_audio_buffer.speech_stopped` in a served semantic_vad session
                 (eagerness auto), the audio appended in 100 ms chunks at real-time pace: wall ms (audio ms)
  end (none)     the same without the model (VOICE_UI_TURN_MODEL=none: the eagerness pause alone, 700 ms)
With the load average: other work on the machine skews the wall figures, not the CPU ones. It prints figures;
it is not a test. Test data: tests/testdata (in the repo).
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import sys
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
import websockets  # noqa: E402

from voice_ui.local_realtime.end_of_turn import turn_probability, unavailable_reason  # noqa: E402
from voice_ui.local_realtime.neural_vad import unavailable_reason as neural_unavailable  # noqa: E402
from voice_ui.local_realtime.server import create_app  # noqa: E402
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing  # noqa: E402
from voice_ui.local_realtime.turn_detectors import new_detector  # noqa: E402
from voice_ui.protocol import BYTES_PER_MS, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, ServerEvent  # noqa: E402

API_KEY = 'sk-benchmark'
APPEND_MS = 100
LEAD_MS, TAIL_MS = 800, 3000
CUTS = {'weather': 0.6, 'lights': 0.8, 'timer': 0.6}  # where each recording stops mid-sentence
TESTDATA = REPO / 'tests' / 'testdata'


def recording(name: str, fraction: float) -> bytes:
    with wave.open(str(TESTDATA / f'{name}.24k.wav'), 'rb') as wav:
        pcm = wav.readframes(wav.getnframes())
    return pcm[:int(len(pcm) * fraction) // 2 * 2]


def judged_audio(kind: str, speech: bytes) -> bytes:
    """The audio the detector hands the model at the last short pause of `speech`."""
    vad = new_detector(kind, {'type': 'semantic_vad'}, 0, 'smart-turn')
    audio, last = b'\0\0' * 24 * LEAD_MS + speech + b'\0\0' * 24 * 600, b''
    for start in range(0, len(audio), APPEND_MS * BYTES_PER_MS):
        vad.feed(audio[start:start + APPEND_MS * BYTES_PER_MS])
        job = vad.take_work()
        if job is not None:
            last = job.pcm
            vad.scored(job, 0.0)  # unfinished: keep listening, so the last pause is the one reported
    return last


def judgement_cost(pcm: bytes) -> tuple[float, float, float]:
    """(probability, median CPU ms, median wall ms) of judging `pcm`."""
    cpu, wall, probability = [], [], 0.0
    for _ in range(5):
        c, w = time.process_time(), time.perf_counter()
        probability = turn_probability(pcm)
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return probability, statistics.median(cpu), statistics.median(wall)


async def turn_end(base: str, speech: bytes) -> tuple[float, int] | None:
    """(wall ms from the end of speech to speech_stopped, its audio_end_ms after the end of speech)."""
    async with httpx.AsyncClient() as http:
        minted = await http.post(f'{base}/realtime/client_secrets', headers={'Authorization': f'Bearer {API_KEY}'},
                                 json={'session': {'type': 'realtime', 'audio': {'input': {'turn_detection': {
                                     'type': 'semantic_vad', 'eagerness': 'auto', 'create_response': False}}}}})
        minted.raise_for_status()
    subprotocols = [SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + minted.json()['value']]
    audio = b'\0\0' * 24 * LEAD_MS + speech + b'\0\0' * 24 * TAIL_MS
    speech_end_ms = LEAD_MS + len(speech) // BYTES_PER_MS
    stopped: list[tuple[float, dict]] = []
    async with websockets.connect(f"{base.replace('http', 'ws', 1)}/realtime?model=gpt-realtime",
                                  subprotocols=subprotocols, max_size=None) as ws:
        listening = asyncio.create_task(listen(ws, stopped))
        began = time.perf_counter()
        step = APPEND_MS * BYTES_PER_MS
        for index, start in enumerate(range(0, len(audio), step)):
            await asyncio.sleep(max(0.0, began + index * APPEND_MS / 1000 - time.perf_counter()))
            await ws.send(json.dumps({'type': 'input_audio_buffer.append',
                                      'audio': base64.b64encode(audio[start:start + step]).decode()}))
            if stopped:
                break
        await asyncio.sleep(0.3)
        listening.cancel()
    if not stopped:
        return None
    at, event = stopped[0]
    # the end of speech has been sent once the chunk holding it was: the clock starts at that chunk's send time
    speech_sent = began + (speech_end_ms // APPEND_MS) * APPEND_MS / 1000
    return (at - speech_sent) * 1000, event['audio_end_ms'] - speech_end_ms


async def listen(ws, stopped: list) -> None:
    async for raw in ws:
        event = json.loads(raw)
        if event['type'] == ServerEvent.SPEECH_STOPPED:
            stopped.append((time.perf_counter(), event))


async def serving(kind: str, turn_model: str, cases: list[tuple[str, bytes]]) -> list[tuple[float, int] | None]:
    port = free_port()
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST, vad=kind,
                                                                          turn_model=turn_model))
    server = uvicorn.Server(uvicorn.Config(create_app(config), host='127.0.0.1', port=port, log_level='warning',
                                           lifespan='off'))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        return [await turn_end(f'http://127.0.0.1:{port}/v1', speech) for _, speech in cases]
    finally:
        server.should_exit = True
        await task


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def shown(end: tuple[float, int] | None) -> str:
    return 'no end' if end is None else f'{end[0]:5.0f} ({end[1]:4d})'


async def main() -> None:
    if (reason := unavailable_reason()) is not None:
        raise SystemExit(reason)
    load = ', '.join(f'{value:.1f}' for value in os.getloadavg())
    print(f'machine: {os.cpu_count()} CPUs, load average {load} (skews wall figures, not CPU), '
          f'python {sys.version.split()[0]}')
    cases = [(f'{name} {"whole" if fraction == 1 else f"cut {fraction:.0%}"}', recording(name, fraction))
             for name in CUTS for fraction in (1.0, CUTS[name])]
    kinds = ['neural', 'energy'] if neural_unavailable() is None else ['energy']
    for kind in kinds:
        costs = [judgement_cost(judged_audio(kind, speech)) for _, speech in cases]
        with_model = await serving(kind, 'smart-turn', cases)
        without = await serving(kind, 'none', cases)
        print(f'\n{kind + " detector":<16} {"p(complete)":>11} {"CPU ms":>7} {"wall ms":>8}   {"end (model) ms":>16}   '
              f'{"end (none) ms":>15}')
        for (label, _), (probability, cpu, wall), ended, plain in zip(cases, costs, with_model, without, strict=True):
            print(f'{label:<16} {probability:11.3f} {cpu:7.0f} {wall:8.0f}   {shown(ended):>16}   {shown(plain):>15}')
    load = ', '.join(f'{value:.1f}' for value in os.getloadavg())
    print(f'\nload average after: {load}. end = wall ms from the end of speech to speech_stopped (its audio_end_ms '
          'after the end of speech); eagerness auto waits 2000 ms of pause when the model says unfinished.')


if __name__ == '__main__':
    asyncio.run(main())
