// Counters for tests and diagnostics (getStats), plus the audio-stripping filter for events sent to Python.
import { SAMPLE_RATE } from './protocol.js';

const ms = (samples) => (samples * 1000) / SAMPLE_RATE;

export class SessionStats {
  constructor() {
    this.sessions = 0;
    this.statusLog = [];  // [{status, t}] with performance.now() times, the last 50
    this.lastPlayback = null;
    this.startSession();
    this.turn = this.newTurn();
    this.lastTurn = null;
    this.turns = 0;
  }

  startSession() {
    this.sessions++;
    this.chunksSent = 0;
    this.samplesSent = 0;
    this.samplesDropped = 0;
    this.maxChunkSamples = 0;
    this.samplesReceived = 0;
  }

  newTurn() {
    return { chunks: 0, samples: 0, maxChunkSamples: 0, startedAt: performance.now() };
  }

  startTurn() {
    this.turn = this.newTurn();
  }

  sent(samples) {
    this.chunksSent++;
    this.samplesSent += samples;
    this.maxChunkSamples = Math.max(this.maxChunkSamples, samples);
    this.turn.chunks++;
    this.turn.samples += samples;
    this.turn.maxChunkSamples = Math.max(this.turn.maxChunkSamples, samples);
  }

  dropped(samples) {
    this.samplesDropped += samples;
  }

  stopRequested() {
    this.turn.stopRequestedAt = performance.now();
  }

  // `flushed`: the capture worklet's answer ({samples it produced this turn, startTime, time} in context seconds).
  endTurn(flushed) {
    const turn = this.turn;
    turn.capturedSamples = flushed.samples;
    turn.captureSpanMs = flushed.startTime != null ? (flushed.time - flushed.startTime) * 1000 : 0;
    turn.stoppedAt = performance.now();
    this.lastTurn = turn;
    this.turns++;
    this.turn = this.newTurn();
    return turn;
  }

  received(samples) {
    this.samplesReceived += samples;
  }

  played(playback, counters, framesReceived) {
    this.lastPlayback = { ...playback, frames_received: framesReceived, flushed: counters.flushed, at: performance.now() };
  }

  status(status) {
    this.statusLog.push({ status, t: performance.now() });
    if (this.statusLog.length > 50) this.statusLog.shift();
  }

  snapshot(live) {
    const last = this.lastTurn;
    const player = live.player || {};
    return {
      ...live,
      sessions: this.sessions,
      turns: this.turns,
      chunksSent: this.chunksSent,
      msSent: ms(this.samplesSent),
      samplesSent: this.samplesSent,
      msDropped: ms(this.samplesDropped),
      maxChunkMs: ms(this.maxChunkSamples),
      turnMs: last ? ms(last.samples) : 0,
      turnChunks: last ? last.chunks : 0,
      turnMaxChunkMs: last ? ms(last.maxChunkSamples) : 0,
      turnCapturedMs: last ? ms(last.capturedSamples) : 0,
      turnCaptureSpanMs: last ? last.captureSpanMs : 0,
      turnStoppedAt: last ? last.stoppedAt : null,
      turnWallMs: last ? last.stopRequestedAt - last.startedAt : 0,
      currentTurnMs: ms(this.turn.samples),
      framesReceived: this.samplesReceived,
      framesPlayed: player.totalFrames || 0,
      underruns: player.totalUnderruns || 0,
      playing: !!player.playing,
      lastPlayback: this.lastPlayback,
      statusLog: this.statusLog.slice(),
      now: performance.now(),
    };
  }
}

// Base64 audio payloads are replaced by their length; objects named `audio` (session config) are kept.
export function withoutAudio(value) {
  if (Array.isArray(value)) return value.map(withoutAudio);
  if (!value || typeof value !== 'object') return value;
  const out = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'audio' && typeof item === 'string') continue;
    out[key] = withoutAudio(item);
  }
  return out;
}
