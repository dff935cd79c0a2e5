"""The component's single-purpose browser modules in real Chromium (served by the real app): the capture
worklet's anti-aliasing resampler and its 'flowing' report, and the token holder's rules for when Python is asked
for a token."""
from __future__ import annotations

import numpy as np
import pytest

from .test_hostile_server import app  # noqa: F401 (the module's app fixture)

CAPTURE_TONE_JS = '''async ([freq, rate]) => {
  const { loadWorklets } = await import('voice-ui/audio/worklets.js');
  const ctx = new AudioContext({ sampleRate: rate });
  await loadWorklets(ctx);
  const node = new AudioWorkletNode(ctx, 'capture-processor', { numberOfInputs: 1, numberOfOutputs: 0,
    channelCount: 1, channelCountMode: 'explicit', processorOptions: { targetRate: 24000, chunkMs: 40 } });
  const samples = [];
  let stopped = null;
  node.port.onmessage = (e) => {
    if (e.data.type === 'chunk') samples.push(...new Int16Array(e.data.pcm));
    else if (e.data.type === 'stopped') stopped = e.data;
  };
  const osc = new OscillatorNode(ctx, { frequency: freq });
  osc.connect(new GainNode(ctx, { gain: 0.5 })).connect(node);
  osc.start();
  node.port.postMessage({ type: 'start', turn: 1 });
  await new Promise((r) => setTimeout(r, 600));
  node.port.postMessage({ type: 'stop', turn: 1, untilTime: ctx.currentTime + 0.05 });
  while (!stopped) await new Promise((r) => setTimeout(r, 10));
  await ctx.close();
  return { samples, stopped };
}'''


def level_db(samples: list[int]) -> float:
    x = np.asarray(samples[1200:-1200], dtype=np.float64) / 32768
    return float(20 * np.log10(max(np.sqrt(np.mean(x * x)), 1e-12) / (0.5 / np.sqrt(2))))


@pytest.mark.parametrize('rate', [48000, 44100])
def test_capture_removes_what_would_alias_and_keeps_speech(page, rate):
    high = page.evaluate(CAPTURE_TONE_JS, [15000, rate])
    low = page.evaluate(CAPTURE_TONE_JS, [1000, rate])
    assert level_db(high['samples']) <= -40, level_db(high['samples'])  # 15 kHz folds to 9 kHz without a filter
    assert abs(level_db(low['samples'])) <= 0.5, level_db(low['samples'])
    for result in (high, low):  # every sample the worklet made was posted before it answered the stop
        assert result['stopped']['samples'] == len(result['samples']) and result['stopped']['turn'] == 1


# 'flowing' comes once, after flowMs of input on the context's clock, never while no input is connected.
CAPTURE_FLOW_JS = '''async (connectAfterMs) => {
  const { loadWorklets } = await import('voice-ui/audio/worklets.js');
  const ctx = new AudioContext();
  await loadWorklets(ctx);
  const node = new AudioWorkletNode(ctx, 'capture-processor', { numberOfInputs: 1, numberOfOutputs: 0,
    channelCount: 1, channelCountMode: 'explicit', processorOptions: { targetRate: 24000, flowMs: 100 } });
  const flowed = [];
  let connectedAt = null;
  node.port.onmessage = (e) => { if (e.data.type === 'flowing') flowed.push(ctx.currentTime); };
  const osc = new OscillatorNode(ctx, { frequency: 440 });
  osc.start();
  await new Promise((r) => setTimeout(r, connectAfterMs));
  const idleFlowed = flowed.length;
  osc.connect(node);
  connectedAt = ctx.currentTime;
  await new Promise((r) => setTimeout(r, 600));
  await ctx.close();
  return { idleFlowed, flowed, connectedAt };
}'''


def test_capture_says_flowing_once_after_100_ms_of_input_and_never_without_input(page):
    result = page.evaluate(CAPTURE_FLOW_JS, 400)
    assert result['idleFlowed'] == 0, 'flowing without any input connected'
    [at] = result['flowed']  # once
    assert 0.1 - 0.003 <= at - result['connectedAt'] <= 0.1 + 0.05, (at, result['connectedAt'])


TOKENS_JS = '''async () => {
  const { TokenHolder } = await import('voice-ui/token-holder.js');
  const asked = [];
  const visible = new TokenHolder((reason) => asked.push(reason));
  visible.prefetch();
  const first = [...asked];
  visible.provide('ek_1', Date.now() / 1000 + 60);
  const taken = await visible.take(1000);             // held: no request, no wait
  const afterTake = [...asked];
  visible.dispose();
  const hidden = Object.getOwnPropertyDescriptor(Document.prototype, 'visibilityState');
  Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
  const hiddenAsked = [];
  const background = new TokenHolder((reason) => hiddenAsked.push(reason));
  background.prefetch();                              // a background tab does not mint
  const started = Date.now();
  let error = null;
  try { await background.take(300); } catch (e) { error = { code: e.code, message: e.message }; }
  const waited = Date.now() - started;
  background.dispose();
  delete document.visibilityState;
  Object.defineProperty(Document.prototype, 'visibilityState', hidden);
  return { first, taken, afterTake, hiddenAsked, error, waited };
}'''


def test_tokens_are_asked_for_only_when_needed_and_a_start_waits_boundedly(page):
    from voice_ui.protocol import TokenReason
    result = page.evaluate(TOKENS_JS)
    assert result['first'] == [TokenReason.PREFETCH]
    assert result['taken'] == 'ek_1'
    assert result['afterTake'] == [TokenReason.PREFETCH, TokenReason.PREFETCH], 'a fresh one for the next connect'
    assert result['hiddenAsked'] == [TokenReason.START], 'hidden: no prefetch, only the Start asks'
    assert result['error']['code'] == 'timeout' and 'token' in result['error']['message'].lower()
    assert 250 <= result['waited'] < 3000
