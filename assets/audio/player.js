// Gapless playback of streamed 24 kHz PCM16 through the player worklet, on the session's one AudioContext. What it
// really played goes to the conversation recorder (played-audio.js), if there is one.
import { SAMPLE_RATE } from '../protocol.js';
import { PlayedAudio } from './played-audio.js';
import { pcm16ToFloat } from './pcm16.js';
import { loadWorklets } from './worklets.js';

// The worklet's adaptive jitter buffer starts here (without a pre-roll a real-time-paced stream underruns, RECIPES.md)
// and grows after underruns; playback begins at most MAX_WAIT_MS after the first sample arrived.
const PREROLL_MS = 120;
const MAX_WAIT_MS = 120;
const FLUSH_TIMEOUT_MS = 500;  // a suspended context may never answer; then the last progress report must do

export class Player {
  constructor(context, onDrained, recorder = null) {
    this.context = context;
    this.onDrained = onDrained;   // ({responseId, flushed, framesPlayed, underruns, ...}) => void
    this.node = null;
    this.counters = { framesPlayed: 0, underruns: 0, totalFrames: 0, totalUnderruns: 0, playing: false };
    this.framesQueued = 0;
    this.flushWaiters = [];
    this.played = new PlayedAudio(recorder);
  }

  async open() {
    await loadWorklets(this.context);
    this.node = new AudioWorkletNode(this.context, 'player-processor', {
      numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1],
      processorOptions: { sourceRate: SAMPLE_RATE, prerollMs: PREROLL_MS, maxWaitMs: MAX_WAIT_MS },
    });
    this.node.port.onmessage = (event) => this.onMessage(event.data);
    this.node.connect(this.context.destination);
  }

  begin(responseId) {
    this.post({ type: 'begin', responseId });
  }

  push(int16) {
    const samples = pcm16ToFloat(int16);
    this.framesQueued += samples.length;
    if (this.node) this.played.queued(int16);
    this.post({ type: 'audio', samples }, [samples.buffer]);
  }

  end() {
    this.post({ type: 'end' });
  }

  // Drop all queued audio now; resolves with the counters at that moment (framesPlayed: what was really heard).
  flush() {
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      if (this.node) this.played.flushing();
      this.post({ type: 'flush' });
      setTimeout(() => this.settleFlush({ ...this.counters, flushed: true }), FLUSH_TIMEOUT_MS);
    });
  }

  settleFlush(counters) {
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    waiters.forEach((resolve) => resolve(counters));
  }

  post(message, transfer = []) {
    if (this.node) this.node.port.postMessage(message, transfer);
  }

  onMessage(message) {
    const { type, ...counters } = message;
    this.played.report(message, this.playedAt(message.time));
    Object.assign(this.counters, counters);
    if (type === 'playing') {
      this.counters.startedAt = performance.now();  // for the latency benchmark
      this.counters.playedAt = this.playedAt(counters.time);  // when it played (the recorder's clock)
    }
    if (type !== 'drained') return;
    if (counters.flushed) this.settleFlush(counters);
    this.onDrained(counters);
  }

  // The main-thread clock (ms) of worklet time `time`: a late report still places its audio when it played.
  playedAt(time) {
    const lagS = typeof time === 'number' ? Math.max(0, this.context.currentTime - time) : 0;
    return performance.now() - lagS * 1000;
  }

  close() {
    this.settleFlush({ ...this.counters, flushed: true });
    this.played.close();
    if (!this.node) return;
    this.node.port.onmessage = null;
    this.node.disconnect();
    this.node = null;
  }
}
