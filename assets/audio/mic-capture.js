// The microphone as a stream of 24 kHz PCM16 chunks (Int16Array, at most MAX_CHUNK_MS each) for one turn at a time.
// The track stays open for the whole session; turns only gate the capture worklet.
import { MAX_CHUNK_MS, SAMPLE_RATE } from '../protocol.js';
import { loadWorklets } from './worklets.js';

// Audio of the Stop moment is still travelling through the capture pipeline: keep capturing this long after it.
const TAIL_GUARD_S = 0.04;
const STOP_TIMEOUT_MS = 1500;  // far above the 40 ms guard plus one render quantum

export const MIC_CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
};

export class MicCapture {
  constructor(context, onChunk) {
    this.context = context;
    this.onChunk = onChunk;   // (Int16Array) => void
    this.stream = null;
    this.source = null;
    this.node = null;
    this.stopRequests = new Map();
    this.nextStopId = 1;
    this.turnStartTime = null;
  }

  get active() {
    return !!this.stream && this.stream.getAudioTracks().some((track) => track.readyState === 'live');
  }

  async open() {
    await loadWorklets(this.context);
    const stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
    if (this.closed) {  // closed while the permission prompt was open: release the mic at once
      stream.getTracks().forEach((track) => track.stop());
      throw new DOMException('The session closed while the microphone was starting.', 'AbortError');
    }
    this.stream = stream;
    this.source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, 'capture-processor', {
      numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit',
      processorOptions: { targetRate: SAMPLE_RATE, chunkMs: MAX_CHUNK_MS },
    });
    this.node.port.onmessage = (event) => this.onMessage(event.data);
    this.source.connect(this.node);
  }

  startTurn() {
    this.turnStartTime = null;
    this.node.port.postMessage({ type: 'start' });
  }

  // Resolves after the worklet posted its last partial chunk: {samples, startTime, time} (context seconds).
  // A suspended context never answers: give up after STOP_TIMEOUT_MS rather than hang the page.
  stopTurn() {
    const id = this.nextStopId++;
    const untilTime = this.context.currentTime + TAIL_GUARD_S;
    return new Promise((resolve) => {
      this.stopRequests.set(id, resolve);
      this.node.port.postMessage({ type: 'stop', id, untilTime });
      setTimeout(() => this.onMessage({ type: 'stopped', id, samples: 0, aborted: true }), STOP_TIMEOUT_MS);
    });
  }

  onMessage(message) {
    if (message.type === 'chunk') this.onChunk(new Int16Array(message.pcm));
    else if (message.type === 'started') this.turnStartTime = message.time;
    else if (message.type === 'stopped') {
      const resolve = this.stopRequests.get(message.id);
      this.stopRequests.delete(message.id);
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
    for (const resolve of this.stopRequests.values()) resolve({ samples: 0, aborted: true });
    this.stopRequests.clear();
    this.stream = this.source = this.node = null;
  }
}
