"""Speech latency of the embedded server: `python benchmarks/speech_latency.py [--agent speech|echo]`.

Serves the real embedded Realtime server (voice_ui.local_realtime) with the SpeechAgent on a local port, then
plays each test utterance through a real WebSocket exactly as the page does (mint a token, session.update,
append, commit + response.create) and prints, per utterance:
  transcript delta  time from commit to the first `...input_audio_transcription.delta`
  audio delta       time from commit to the first `response.output_audio.delta`
  done              time from commit to `response.done`
  CPU/speech s      process CPU seconds (all threads) spent on the turn, per second of input speech
  WER               word error rate of the transcript against the manifest
It prints figures; it is not a test. Test data: tests/testdata (in the repo).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
import websockets  # noqa: E402

from tests.support import free_port, read_wav  # noqa: E402  (the tests' WAV reader and port picker)
from voice_ui.config import Settings  # noqa: E402
from voice_ui.local_realtime.server_agent import EchoAgent  # noqa: E402
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing  # noqa: E402
from voice_ui.local_realtime.server import create_app  # noqa: E402
from voice_ui.protocol import SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, ClientEvent, ServerEvent  # noqa: E402
from voice_ui.session_config import session_config, session_update  # noqa: E402
from voice_ui.speech.wer import word_error_rate  # noqa: E402

API_KEY = 'sk-benchmark'
APPEND_MS = 100  # audio per input_audio_buffer.append, like the page's worklet batches


@dataclass
class Turn:
    name: str
    speech_s: float
    to_transcript_delta_s: float | None = None
    to_audio_delta_s: float | None = None
    to_done_s: float | None = None
    cpu_s: float = 0.0
    heard: str = ''
    said: str = ''
    reply_audio_s: float = 0.0
    wer: float = 1.0


async def main() -> None:
    args = parse_args()
    testdata = REPO / 'tests' / 'testdata'
    manifest = json.loads((testdata / 'manifest.json').read_text(encoding='utf-8'))
    agent = await make_agent(args.agent)
    port = free_port()
    config = LocalRealtimeConfig(api_keys={API_KEY}, agent=agent, engine=EngineOptions(pacing=Pacing(args.pacing)))
    server = uvicorn.Server(uvicorn.Config(create_app(config), host='127.0.0.1', port=port, log_level='warning',
                                           lifespan='off'))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    base = f'http://127.0.0.1:{port}/v1'
    print(f'embedded server {base}, {args.pacing} pacing, agent: {agent.description}')
    load = ', '.join(f'{value:.1f}' for value in os.getloadavg())
    print(f'machine: {os.cpu_count()} CPUs, load average {load} (other work skews latency, not CPU cost), '
          f'python {sys.version.split()[0]}\n')
    try:
        turns = []
        for round_ in range(args.rounds):
            for entry in manifest:
                turn = await run_turn(base, entry, read_wav(testdata / entry['reference_24k'], 24_000))
                if round_ == args.rounds - 1:  # earlier rounds warm caches up
                    turns.append(turn)
        print_table(turns)
    finally:
        server.should_exit = True
        await serving


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--agent', choices=['speech', 'echo'], default='speech')
    parser.add_argument('--pacing', choices=[p.value for p in Pacing], default=Pacing.REALTIME.value)
    parser.add_argument('--rounds', type=int, default=2, help='runs over the utterances; the last is reported')
    return parser.parse_args()


async def make_agent(kind: str):
    if kind == 'echo':
        return EchoAgent()
    from voice_ui.speech import SPEECH_HINT, speech_available
    if not speech_available():
        raise SystemExit(SPEECH_HINT)
    from voice_ui.speech.agent import SpeechAgent
    agent = SpeechAgent()
    wall, cpu = time.perf_counter(), time.process_time()
    await agent.warm_up()
    print(f'model load: {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU')
    return agent


async def run_turn(base: str, entry: dict, pcm: bytes) -> Turn:
    settings = Settings()
    async with httpx.AsyncClient() as http:
        minted = await http.post(f'{base}/realtime/client_secrets', headers={'Authorization': f'Bearer {API_KEY}'},
                                 json={'expires_after': {'anchor': 'created_at', 'seconds': 60},
                                       'session': session_config(settings)})
        minted.raise_for_status()
    url = f"{base.replace('http', 'ws', 1)}/realtime?model={settings.model}"
    subprotocols = [SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + minted.json()['value']]
    turn = Turn(entry['name'], entry['speech_seconds'])
    async with websockets.connect(url, subprotocols=subprotocols, max_size=None) as ws:
        await send(ws, ClientEvent.SESSION_UPDATE, session=session_update(settings))
        await expect(ws, ServerEvent.SESSION_UPDATED)
        step = 2 * 24 * APPEND_MS
        for start in range(0, len(pcm), step):
            await send(ws, ClientEvent.INPUT_AUDIO_APPEND, audio=base64.b64encode(pcm[start:start + step]).decode())
        committed_at, cpu_at = time.perf_counter(), time.process_time()
        await send(ws, ClientEvent.INPUT_AUDIO_COMMIT)
        await send(ws, ClientEvent.RESPONSE_CREATE)
        reply_audio = 0
        async for raw in ws:
            message, elapsed = json.loads(raw), time.perf_counter() - committed_at
            kind = message['type']
            if kind == ServerEvent.INPUT_TRANSCRIPTION_DELTA and turn.to_transcript_delta_s is None:
                turn.to_transcript_delta_s = elapsed
            elif kind == ServerEvent.INPUT_TRANSCRIPTION_COMPLETED:
                turn.heard = message['transcript']
            elif kind == ServerEvent.OUTPUT_AUDIO_DELTA:
                turn.to_audio_delta_s = turn.to_audio_delta_s or elapsed
                reply_audio += len(base64.b64decode(message['delta']))
            elif kind == ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE:
                turn.said = message['transcript']
            elif kind == ServerEvent.ERROR:
                raise RuntimeError(message['error'])
            elif kind == ServerEvent.RESPONSE_DONE:
                turn.to_done_s, turn.cpu_s = elapsed, time.process_time() - cpu_at
                break
    turn.reply_audio_s = reply_audio / (2 * 24_000)
    turn.wer = word_error_rate(entry['text'], turn.heard)
    return turn


async def send(ws, kind: ClientEvent, **fields) -> None:
    await ws.send(json.dumps({'type': kind.value, **fields}))


async def expect(ws, kind: ServerEvent) -> dict:
    async for raw in ws:
        message = json.loads(raw)
        if message['type'] == kind:
            return message
        if message['type'] == ServerEvent.ERROR:
            raise RuntimeError(message['error'])
    raise RuntimeError(f'connection closed before {kind}')


def print_table(turns: list[Turn]) -> None:
    def ms(value: float | None) -> str:
        return '-' if value is None else f'{value * 1000:.0f} ms'

    print(f"{'utterance':<10} {'speech':>7} {'transcript delta':>17} {'audio delta':>12} {'done':>9} "
          f"{'CPU/speech s':>13} {'WER':>5}  heard / said")
    for t in turns:
        print(f'{t.name:<10} {t.speech_s:>6.2f}s {ms(t.to_transcript_delta_s):>17} {ms(t.to_audio_delta_s):>12} '
              f'{ms(t.to_done_s):>9} {t.cpu_s / t.speech_s:>13.2f} {t.wer:>5.2f}  {t.heard!r} / {t.said!r} '
              f'({t.reply_audio_s:.1f} s of reply audio)')


if __name__ == '__main__':
    asyncio.run(main())
