"""Speech latency of the embedded server: `python benchmarks/speech_latency.py [--agent speech|echo]`.

Serves the real embedded Realtime server (voice_ui.local_realtime) with the SpeechAgent on a local port, then
plays each test utterance through a real WebSocket exactly as the page does in push-to-talk (mint a token,
session.update, the mic recording -- 0.5 s of silence either side -- appended in 100 ms chunks at real-time pace,
then commit + response.create when the recording ends) and prints, per utterance:
  caption           time from the start of speech to the first `...input_audio_transcription.delta`
  delta             time from commit to the first transcription delta (negative: it came while speaking)
  completed         time from commit to `...input_audio_transcription.completed`
  audio             time from commit to the first `response.output_audio.delta`
  done              time from commit to `response.done`
  CPU→audio         process CPU seconds (all threads) from commit to the first audio delta
  CPU/speech s      process CPU seconds (all threads) spent on the whole turn, per second of input speech
  WER               word error rate of the final transcript against the manifest
To compare with an older tree, run this file with `--code <that tree>` (e.g. `git archive main`). It prints
figures; it is not a test. Test data: tests/testdata (in the repo).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = Path(sys.argv[sys.argv.index('--code') + 1]).resolve() if '--code' in sys.argv[:-1] else REPO
sys.path.insert(0, str(CODE))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
import websockets  # noqa: E402

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
    caption_after_speech_s: float | None = None
    cpu_to_audio_s: float | None = None  # process CPU from commit to first audio: what load skews least
    to_completed_s: float | None = None
    to_audio_delta_s: float | None = None
    to_done_s: float | None = None
    cpu_s: float = 0.0
    heard: str = ''
    said: str = ''
    reply_audio_s: float = 0.0
    wer: float = 1.0
    live: str = ''  # what live recognition did in this turn


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
    if (CODE / 'voice_ui' / 'local_realtime' / 'neural_vad.py').is_file():
        print(f'turn detection: {config.engine.vad}; {neural_vad_cost(testdata)}\n')
    try:
        turns = []
        for round_ in range(args.rounds):
            for entry, pcm in utterances(manifest, testdata):
                before = live_counts(agent)
                turn = await run_turn(base, entry, pcm, args.pace)
                turn.live = describe_live(before, live_counts(agent))
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
    parser.add_argument('--pace', type=float, default=1.0, help='append speed: 1 = real time; 0 = all at once')
    parser.add_argument('--code', help='the source tree to benchmark (default: this one)')
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


async def run_turn(base: str, entry: dict, pcm: bytes, pace: float) -> Turn:
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
        received: list[tuple[float, dict]] = []
        listening = asyncio.create_task(receive_all(ws, received))
        step = 2 * 24 * APPEND_MS
        began, cpu_at = time.perf_counter(), time.process_time()
        speech_at = began + entry.get('mic_leading_silence_s', 0.0) * pace
        for index, start in enumerate(range(0, len(pcm), step)):
            await asyncio.sleep(max(0.0, began + index * APPEND_MS / 1000 * pace - time.perf_counter()))
            await send(ws, ClientEvent.INPUT_AUDIO_APPEND, audio=base64.b64encode(pcm[start:start + step]).decode())
        await asyncio.sleep(max(0.0, began + len(pcm) / step * APPEND_MS / 1000 * pace - time.perf_counter()))
        committed_at, committed_cpu = time.perf_counter(), time.process_time()
        await send(ws, ClientEvent.INPUT_AUDIO_COMMIT)
        await send(ws, ClientEvent.RESPONSE_CREATE)
        await listening
        reply_audio = 0
        for at, cpu, message in received:
            elapsed = at - committed_at
            kind = message['type']
            if kind == ServerEvent.INPUT_TRANSCRIPTION_DELTA and turn.to_transcript_delta_s is None:
                turn.to_transcript_delta_s = elapsed
                turn.caption_after_speech_s = at - speech_at
            elif kind == ServerEvent.INPUT_TRANSCRIPTION_COMPLETED:
                turn.heard, turn.to_completed_s = message['transcript'], elapsed
            elif kind == ServerEvent.OUTPUT_AUDIO_DELTA:
                if turn.to_audio_delta_s is None:
                    turn.to_audio_delta_s, turn.cpu_to_audio_s = elapsed, cpu - committed_cpu
                reply_audio += len(base64.b64decode(message['delta']))
            elif kind == ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE:
                turn.said = message['transcript']
            elif kind == ServerEvent.ERROR:
                raise RuntimeError(message['error'])
            elif kind == ServerEvent.RESPONSE_DONE:
                turn.to_done_s, turn.cpu_s = elapsed, time.process_time() - cpu_at
    turn.reply_audio_s = reply_audio / (2 * 24_000)
    turn.wer = word_error_rate(entry['text'], turn.heard)
    return turn


async def receive_all(ws, received: list) -> None:
    async for raw in ws:
        received.append((time.perf_counter(), time.process_time(), json.loads(raw)))
        if received[-1][2]['type'] == ServerEvent.RESPONSE_DONE:
            return


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

    print(f"{'utterance':<14} {'speech':>7} {'caption':>8} {'delta':>8} {'completed':>9} {'audio':>8} {'done':>8} "
          f"{'CPU→audio':>9} {'CPU/speech s':>13} {'WER':>5}  heard / said")
    for t in turns:
        print(f'{t.name:<14} {t.speech_s:>6.2f}s {ms(t.caption_after_speech_s):>8} {ms(t.to_transcript_delta_s):>8} '
              f'{ms(t.to_completed_s):>9} {ms(t.to_audio_delta_s):>8} {ms(t.to_done_s):>8} '
              f'{ms(t.cpu_to_audio_s):>9} {t.cpu_s / t.speech_s:>13.2f} {t.wer:>5.2f}  '
              f'{t.heard!r} / {t.said!r} ({t.reply_audio_s:.1f} s reply){"; " + t.live if t.live else ""}')

    def mean(values: list) -> str:
        values = [v for v in values if v is not None]
        return ms(sum(values) / len(values)) if values else '-'
    print(f"{'mean':<14} {'':>7} {mean([t.caption_after_speech_s for t in turns]):>8} "
          f"{mean([t.to_transcript_delta_s for t in turns]):>8} {mean([t.to_completed_s for t in turns]):>9} "
          f"{mean([t.to_audio_delta_s for t in turns]):>8} {mean([t.to_done_s for t in turns]):>8} "
          f"{mean([t.cpu_to_audio_s for t in turns]):>9} "
          f"{sum(t.cpu_s for t in turns) / sum(t.speech_s for t in turns):>13.2f} "
          f"{sum(t.wer for t in turns) / len(turns):>5.2f}")
    load = ', '.join(f'{value:.1f}' for value in os.getloadavg())
    print(f'load average after the run: {load}')


def neural_vad_cost(testdata: Path) -> str:
    """CPU per 32 ms frame of the Silero detector, fed as a real-time client appends (40 ms) and in one batch."""
    from voice_ui.local_realtime.neural_vad import FRAME_MS, NeuralVad, score, unavailable_reason
    if unavailable_reason():
        return f'neural VAD unavailable: {unavailable_reason()}'
    pcm = b''.join(mic_pcm24(testdata / name) for name in sorted(p.name for p in testdata.glob('*.mic48k.wav'))) * 3
    frames = len(pcm) // (48 * FRAME_MS)
    per_frame = {}
    for append_ms in (40, APPEND_MS):
        vad, step = NeuralVad(), 48 * append_ms
        cpu = time.process_time()
        for start in range(0, len(pcm), step):
            vad.feed(pcm[start:start + step])
        per_frame[append_ms] = (time.process_time() - cpu) / frames * 1e6
    cpu = time.process_time()
    score(pcm, NeuralVad().state)
    batched = (time.process_time() - cpu) / frames * 1e6
    page = per_frame[APPEND_MS]
    return (f'Silero VAD CPU per 32 ms frame: {per_frame[40]:.0f} µs fed in 40 ms appends, {page:.0f} µs in '
            f'{APPEND_MS} ms appends (the page\'s; {page * 1000 / FRAME_MS / 1e6:.1%} of a core per talking session), '
            f'{batched:.0f} µs in one batch ({frames} frames)')


def utterances(manifest: list[dict], testdata: Path) -> list[tuple[dict, bytes]]:
    """The test recordings, then two longer turns (3.6-4.2 s): one recording, a 0.3 s pause, the next one."""
    single = [(entry, mic_pcm24(testdata / entry['mic_file'])) for entry in manifest]
    joined = []
    for (first, a), (second, b) in zip(single, single[1:], strict=False):
        keep = int((first['mic_trailing_silence_s'] - 0.35) * 24_000) * 2   # 0.15 s of the first's silence
        skip = int((second['mic_leading_silence_s'] - 0.15) * 24_000) * 2   # and 0.15 s of the second's
        entry = {**first, 'name': f"{first['name']}+{second['name']}", 'text': f"{first['text']} {second['text']}",
                 'speech_seconds': first['speech_seconds'] + 0.3 + second['speech_seconds']}
        joined.append((entry, a[:len(a) - int(first['mic_trailing_silence_s'] * 48_000) + keep] + b[skip:]))
    return single + joined


def live_counts(agent) -> dict:
    counts = getattr(getattr(agent, 'hearing', None), 'counts', None)
    return dict(vars(counts)) if counts is not None else {}


def describe_live(before: dict, after: dict) -> str:
    """One turn's live recognition: interim and pause decodes, and whether the commit found its text ready."""
    if not after:
        return ''
    delta = {key: after[key] - before.get(key, 0) for key in after}
    ready = 'ready' if delta['commits_ready'] else 'decoded at commit'
    return f"{delta['interim']} interim + {delta['pauses']} pause decodes, {ready}"


def mic_pcm24(path: Path) -> bytes:
    """The fake-mic recording (48 kHz) at the protocol's 24 kHz, as the page's worklet sends it."""
    import numpy as np
    from voice_ui.speech.audio import resample
    with wave.open(str(path)) as wav:
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    samples = np.frombuffer(frames, dtype='<i2').astype(np.float32) / 32768
    return (np.clip(resample(samples, rate, 24_000), -1, 1) * 32767).astype('<i2').tobytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


if __name__ == '__main__':
    asyncio.run(main())
