// The microphone as a stream of 24 kHz PCM16 chunks (Int16Array, at most MAX_CHUNK_MS each), one turn at a time.
// The track stays open for the whole session; turns only gate the capture worklet, and every message to and
// from it carries the turn id, so a Start right after a Stop can never cut or reset the previous turn's flush.
// Another input device (useDevice) is opened first and then, in one task, its source is connected to the same
// worklet node and the old one disconnected: the worklet, and the turn it is capturing, only see their input change,
// so a switch within a turn loses nothing in a gap and hears nothing twice.
import { MAX_CHUNK_MS, SAMPLE_RATE } from '../protocol.js';
import { loadWorklets } from './worklets.js';

const STOP_TIMEOUT_MS = 1500;   // a suspended context never answers: then the turn ends without its tail
const DEFAULT_LATENCY_S = 0.02; // when the browser does not report the track's latency
const MAX_LATENCY_S = 0.3;
const LEVEL_MS = 50;            // the worklet reports the input level ~20 times a second (the meter)
const FLOW_MS = 100;            // input that reached the worklet before the microphone counts as flowing

export const MIC_CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
};

// `deviceId` '' is the system default; any other is asked for exactly (no silent substitute by the browser).
export function micConstraints(deviceId) {
  const audio = { ...MIC_CONSTRAINTS.audio };
  if (deviceId) audio.deviceId = { exact: deviceId };
  return { audio };
}

// How getUserMedia says that this one device cannot be had (gone, busy): the default may still work.
const DEVICE_ERRORS = new Set(['OverconstrainedError', 'NotFoundError', 'NotReadableError', 'AbortError']);

const aborted = () => new DOMException('The session closed while the microphone was starting.', 'AbortError');
const release = (stream) => stream.getTracks().forEach((track) => track.stop());

const spares = new WeakMap();  // AudioContext -> a capture node made ahead of time (its filter design done)

function captureNode(context) {
  return new AudioWorkletNode(context, 'capture-processor', {
    numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit',
    processorOptions: { targetRate: SAMPLE_RATE, chunkMs: MAX_CHUNK_MS, levelMs: LEVEL_MS, flowMs: FLOW_MS },
  });
}

// At page load (no gesture, no microphone): the worklets load and one capture node is built, so that Start only
// waits for getUserMedia. The node captures nothing until a microphone is connected to it.
export async function prepareCapture(context) {
  await loadWorklets(context);
  if (context.state !== 'closed' && !spares.has(context)) spares.set(context, captureNode(context));
}

export class MicCapture {
  // onDevice({asked, opened, label, error, lost}): a stream was opened on `opened` ('' = default) for `asked`;
  // `error` is why `asked` could not be had, `lost` the label of the device that went away; {failed} when none.
  constructor(context, onChunk, { deviceId = '', onLevel = () => {}, onDevice = () => {} } = {}) {
    this.context = context;
    this.onChunk = onChunk;   // (turn, Int16Array) => void
    this.onLevel = onLevel;   // ({rms, peak}) => void, ~20 per second while the track is open
    this.onDevice = onDevice;
    this.deviceId = deviceId; // the device wanted
    this.openedId = null;     // the device the open stream is on
    this.stream = null;
    this.source = null;
    this.node = null;
    this.stopRequests = new Map();  // turn -> resolve
    this.switching = Promise.resolve();  // device switches run one after the other
    this.closed = false;
    this.flowed = new Promise((resolve) => { this.onFlowed = resolve; });  // true once sound flows; false: closed
  }

  // True once FLOW_MS of input reached the worklet; false if that takes longer than `timeoutMs` or the capture closed.
  flowing(timeoutMs) {
    let timer;
    const late = new Promise((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    return Promise.race([this.flowed, late]).finally(() => clearTimeout(timer));
  }

  get active() {
    return !!this.stream && this.stream.getAudioTracks().some((track) => track.readyState === 'live');
  }

  async open() {
    if (!spares.has(this.context)) await loadWorklets(this.context);
    if (this.closed) throw aborted();
    const asked = this.deviceId;
    const { stream, error } = await this.getStream(asked);
    if (this.closed) {  // closed while the permission prompt was open: release the mic at once
      release(stream);
      throw aborted();
    }
    this.node = spares.get(this.context) || captureNode(this.context);
    spares.delete(this.context);
    this.node.port.onmessage = (event) => this.onMessage(event.data);
    this.attach(stream, asked, error);
    if (this.deviceId !== asked) this.useDevice(this.deviceId).catch(() => {});  // chosen while opening
  }

  // The stream of `deviceId`, or of the default device when that one cannot be had ({stream, error}).
  async getStream(deviceId) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(micConstraints(deviceId)), error: null };
    } catch (error) {
      if (!deviceId || !DEVICE_ERRORS.has(error && error.name)) throw error;  // denied: no other device helps
      return { stream: await navigator.mediaDevices.getUserMedia(micConstraints('')), error };
    }
  }

  // In one task: the new source feeds the worklet, the old one stops (see the top of this file).
  attach(stream, asked, error, lost = '') {
    const old = { stream: this.stream, source: this.source };
    this.stream = stream;
    this.openedId = error ? '' : asked;
    this.source = this.context.createMediaStreamSource(stream);
    this.source.connect(this.node);
    if (old.source) old.source.disconnect();
    if (old.stream) release(old.stream);
    const track = stream.getAudioTracks()[0];
    if (track) track.addEventListener('ended', () => this.onEnded(stream));
    this.onDevice({ asked, opened: this.openedId, label: track ? track.label : '', error, lost });
  }

  // Resolves once the stream is on `deviceId` (or on the default, if that one cannot be had); a later choice
  // supersedes an earlier one that has not started yet. Before open() it only records the choice.
  useDevice(deviceId) {
    this.deviceId = deviceId;
    return this.reopen(() => this.deviceId === deviceId && this.openedId !== deviceId, deviceId);
  }

  reopen(stillWanted, deviceId, lost = '') {
    const run = this.switching.then(async () => {
      if (this.closed || !this.node || !stillWanted()) return false;
      const { stream, error } = await this.getStream(deviceId);
      if (this.closed || !stillWanted()) {
        release(stream);
        return false;
      }
      this.attach(stream, deviceId, error, lost);
      return true;
    });
    this.switching = run.catch(() => {});
    return run;
  }

  // The device went away (unplugged): the default takes over at once; the wanted device stays wanted.
  onEnded(stream) {
    if (stream !== this.stream || this.closed) return;
    const track = stream.getAudioTracks()[0];
    this.openedId = null;
    this.reopen(() => this.stream === stream, '', (track && track.label) || 'The microphone')
      .catch((error) => this.onDevice({ failed: error }));
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
    else if (message.type === 'level') this.onLevel(message);
    else if (message.type === 'flowing') this.onFlowed(true);
    else if (message.type === 'stopped') {
      const resolve = this.stopRequests.get(message.turn);
      this.stopRequests.delete(message.turn);
      if (resolve) resolve(message);
    }
  }

  close() {
    this.closed = true;
    this.onFlowed(false);
    if (this.stream) release(this.stream);
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
