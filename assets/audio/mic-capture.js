// The microphone as a stream of 24 kHz PCM16 chunks (Int16Array, at most MAX_CHUNK_MS each), one turn at a time.
// The track stays open for the whole session; turns only gate the capture worklet, and every message to and
// from it carries the turn id, so a Start right after a Stop can never cut or reset the previous turn's flush.
import { MAX_CHUNK_MS, SAMPLE_RATE } from '../protocol.js';
import { loadWorklets } from './worklets.js';

const STOP_TIMEOUT_MS = 1500;   // a suspended context never answers: then the turn ends without its tail
const DEFAULT_LATENCY_S = 0.02; // when the browser does not report the track's latency
const MAX_LATENCY_S = 0.3;

export const MIC_CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
};

const spares = new WeakMap();  // AudioContext -> a capture node made ahead of time (its filter design done)

function captureNode(context) {
  return new AudioWorkletNode(context, 'capture-processor', {
    numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit',
    processorOptions: { targetRate: SAMPLE_RATE, chunkMs: MAX_CHUNK_MS },
  });
}

// At page load (no gesture, no microphone): the worklets load and one capture node is built, so that Start only
// waits for getUserMedia. The node captures nothing until a microphone is connected to it.
export async function prepareCapture(context) {
  await loadWorklets(context);
  if (context.state !== 'closed' && !spares.has(context)) spares.set(context, captureNode(context));
}

export class MicCapture {
  constructor(context, onChunk) {
    this.context = context;
    this.onChunk = onChunk;   // (turn, Int16Array) => void
    this.stream = null;
    this.source = null;
    this.node = null;
    this.stopRequests = new Map();  // turn -> resolve
    this.closed = false;
  }

  get active() {
    return !!this.stream && this.stream.getAudioTracks().some((track) => track.readyState === 'live');
  }

  async open() {
    if (!spares.has(this.context)) await loadWorklets(this.context);
    if (this.closed) throw new DOMException('The session closed while the microphone was starting.', 'AbortError');
    const stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    if (this.closed) {  // closed while the permission prompt was open: release the mic at once
      stream.getTracks().forEach((track) => track.stop());
      throw new DOMException('The session closed while the microphone was starting.', 'AbortError');
    }
    this.stream = stream;
    this.source = this.context.createMediaStreamSource(this.stream);
    this.node = spares.get(this.context) || captureNode(this.context);
    spares.delete(this.context);
    this.node.port.onmessage = (event) => this.onMessage(event.data);
    this.source.connect(this.node);
  }

  // How long the sound of "now" takes to reach the worklet: the track's reported capture latency plus one render
  // quantum for the graph (Chrome and Firefox report `latency` in the track settings).
  inputLatency() {
    const track = this.stream && this.stream.getAudioTracks()[0];
    const reported = track && track.getSettings ? track.getSettings().latency : undefined;
    const latency = typeof reported === 'number' && reported >= 0 && reported <= MAX_LATENCY_S ? reported : DEFAULT_LATENCY_S;
    return latency + 128 / this.context.sampleRate;
  }

  startTurn(turn) {
    this.post({ type: 'start', turn });
  }

  // Resolves after the worklet posted the turn's last partial chunk: {turn, samples, startTime, time}.
  stopTurn(turn, untilTime) {
    return new Promise((resolve) => {
      this.stopRequests.set(turn, resolve);
      this.post({ type: 'stop', turn, untilTime });
      setTimeout(() => this.onMessage({ type: 'stopped', turn, samples: 0, aborted: true }), STOP_TIMEOUT_MS);
    });
  }

  post(message) {
    if (this.node) this.node.port.postMessage(message);
  }

  onMessage(message) {
    if (message.type === 'chunk') this.onChunk(message.turn, new Int16Array(message.pcm));
    else if (message.type === 'stopped') {
      const resolve = this.stopRequests.get(message.turn);
      this.stopRequests.delete(message.turn);
      if (resolve) resolve(message);
    }
  }

  close() {
    this.closed = true;
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    if (this.source) this.source.disconnect();
    if (this.node) {
      this.node.port.onmessage = null;
      this.node.disconnect();
    }
    for (const [turn, resolve] of this.stopRequests) resolve({ turn, samples: 0, aborted: true });
    this.stopRequests.clear();
    this.stream = this.source = this.node = null;
    prepareCapture(this.context).catch(() => {});  // the next Start (or reconnect) finds a node ready again
  }
}
