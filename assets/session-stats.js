// Counters for tests, diagnostics and the latency benchmark (getStats). Times are performance.now() ms; the
// capture worklet's are AudioContext seconds.
import { SAMPLE_RATE } from './protocol.js';

const ms = (samples) => (samples * 1000) / SAMPLE_RATE;
const KEPT_TURNS = 4;

export class SessionStats {
  constructor() {
    this.sessions = 0;
    this.statusLog = [];  // [{status, t}], the last 50
    this.lastPlayback = null;
    this.gestures = { start: null, stop: null };
    this.records = new Map();  // turn id -> per-turn record, the last few
    this.lastTurn = null;      // the record of the last turn that ended
    this.current = null;       // the record of the newest turn
    this.turns = 0;
    this.startSession();
  }

  startSession() {
    this.sessions++;
    this.chunksSent = 0;
    this.samplesSent = 0;
    this.samplesDropped = 0;
    this.maxChunkSamples = 0;
    this.samplesReceived = 0;
  }

  gesture(kind) {
    this.gestures[kind] = performance.now();
  }

  startTurn(turn) {
    const record = { turn, chunks: 0, samples: 0, maxChunkSamples: 0, startedAt: performance.now(),
      startGestureAt: this.gestures.start, firstAppendAt: null, commitAt: null };
    this.records.set(turn, record);
    if (this.records.size > KEPT_TURNS) this.records.delete(this.records.keys().next().value);
    this.current = record;
  }

  sent(turn, samples) {
    this.chunksSent++;
    this.samplesSent += samples;
    this.maxChunkSamples = Math.max(this.maxChunkSamples, samples);
    const record = this.records.get(turn);
    if (!record) return;
    if (record.firstAppendAt === null) record.firstAppendAt = performance.now();
    record.chunks++;
    record.samples += samples;
    record.maxChunkSamples = Math.max(record.maxChunkSamples, samples);
  }

  dropped(samples) {
    this.samplesDropped += samples;
  }

  stopRequested(turn, contextTime) {
    const record = this.records.get(turn);
    if (record) Object.assign(record, { stopRequestedAt: this.gestures.stop, stopContextTime: contextTime });
  }

  // `flushed`: the capture worklet's answer ({samples, startTime, time}).
  endTurn(turn, flushed) {
    const record = this.records.get(turn) || { turn, chunks: 0, samples: 0, maxChunkSamples: 0 };
    record.capturedSamples = flushed.samples;
    record.captureStart = flushed.startTime;
    record.captureEnd = flushed.time;
    record.stoppedAt = performance.now();
    this.lastTurn = record;
    this.turns++;
    return record;
  }

  commitSent(turn) {
    const record = this.records.get(turn);
    if (record) record.commitAt = performance.now();
  }

  received(samples, first) {
    this.samplesReceived += samples;
    if (first) this.firstDeltaAt = performance.now();
  }

  played(playback, counters, framesReceived) {
    this.lastPlayback = { ...playback, frames_received: framesReceived, flushed: counters.flushed, at: performance.now() };
  }

  status(status) {
    this.statusLog.push({ status, t: performance.now() });
    if (this.statusLog.length > 50) this.statusLog.shift();
  }

  snapshot(live) {
    const last = this.lastTurn || {};
    const player = live.player || {};
    return {
      ...live,
      sessions: this.sessions, turns: this.turns, chunksSent: this.chunksSent, samplesSent: this.samplesSent,
      msSent: ms(this.samplesSent), msDropped: ms(this.samplesDropped), maxChunkMs: ms(this.maxChunkSamples),
      turnMs: ms(last.samples || 0), turnChunks: last.chunks || 0, turnMaxChunkMs: ms(last.maxChunkSamples || 0),
      turnCapturedMs: ms(last.capturedSamples || 0),
      turnCaptureSpanMs: last.captureStart != null ? (last.captureEnd - last.captureStart) * 1000 : 0,
      // The audio up to the Stop moment (context time), against what the worklet delivered.
      turnHeldMs: last.captureStart != null && last.stopContextTime != null ? (last.stopContextTime - last.captureStart) * 1000 : 0,
      turnStoppedAt: last.stoppedAt != null ? last.stoppedAt : null,
      turnWallMs: last.stopRequestedAt != null ? last.stopRequestedAt - last.startedAt : 0,
      stopToCommitMs: last.commitAt != null && last.stopRequestedAt != null ? last.commitAt - last.stopRequestedAt : null,
      startToAppendMs: this.current && this.current.firstAppendAt != null && this.current.startGestureAt != null
        ? this.current.firstAppendAt - this.current.startGestureAt : null,
      currentTurnMs: ms(this.current ? this.current.samples : 0),
      framesReceived: this.samplesReceived, framesPlayed: player.totalFrames || 0, underruns: player.totalUnderruns || 0,
      playing: !!player.playing, firstDeltaAt: this.firstDeltaAt || null, playbackStartedAt: player.startedAt || null,
      lastPlayback: this.lastPlayback, statusLog: this.statusLog.slice(), now: performance.now(),
    };
  }
}

// VoiceSession.getStats(): the counters plus the session's live state.
export function sessionSnapshot(v) {
  return v.stats.snapshot({
    status: v.status, turn: v.turn, socketState: v.socket ? v.socket.state : 'closed',
    micActive: !!v.mic && v.mic.active, capturing: v.capturing, contextRate: v.context ? v.context.sampleRate : null,
    contextState: v.context ? v.context.state : 'closed', contextTime: v.context ? v.context.currentTime : 0,
    handsFree: v.handsFree.on, vadTurns: v.handsFree.turns,
    player: v.player ? { ...v.player.counters } : null, forwarded: v.link.sent, forwardedEvents: v.link.events, tokenHeld: v.tokens.usable(),
  });
}
