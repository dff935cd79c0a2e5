// Capture worklet: runs at the AudioContext's (device) rate, resamples to 24 kHz in here (Firefox cannot connect
// a mic to a context of another rate), converts to PCM16 and posts chunks of at most `chunkMs` as transferables.
// The resampler is a polyphase windowed-sinc (Kaiser) low-pass: content above the target's Nyquist frequency is
// removed before decimation instead of folding back into speech as aliasing (linear interpolation would).
//
// Messages in:  {type: 'start', turn}                  begin a turn (after the previous turn's pending stop)
//               {type: 'stop', turn, untilTime}        capture up to context time `untilTime` exactly (the sound
//                                                      of the Stop moment is still in flight), then flush, answer
// Messages out: {type: 'chunk', turn, pcm: ArrayBuffer} Int16 samples at the target rate
//               {type: 'stopped', turn, samples, startTime, time}  after the turn's last partial chunk
//               {type: 'level', rms, peak}             the input's level every `levelMs` (the meter), in and
//                                                      between turns: only while an input is connected
//               {type: 'flowing'}                      once, after `flowMs` of input: the microphone really
//                                                      delivers (Firefox's clock can stand still ~2 s after its
//                                                      first getUserMedia; speech in that pause is lost)

const TAPS = 64;          // per phase; with Kaiser beta 7 about -70 dB in the stop band
const PHASES = 128;       // fractional positions resolved to 1/128 of an input sample
const KAISER_BETA = 7;
const CUTOFF = 0.45;      // of the lower of the two rates: pass band to 10.8 kHz at 24 kHz out

function besselI0(x) {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 40; k++) {
    term *= (x / (2 * k)) * (x / (2 * k));
    sum += term;
  }
  return sum;
}

// table[phase * TAPS + k]: the weight of input sample (i - TAPS/2 + 1 + k) for an output at i + phase/PHASES.
function designFilter(ratio) {
  const fc = (CUTOFF * Math.min(1, 1 / ratio));  // cycles per input sample
  const table = new Float32Array((PHASES + 1) * TAPS);
  const half = TAPS / 2;
  for (let p = 0; p <= PHASES; p++) {
    const frac = p / PHASES;
    let sum = 0;
    for (let k = 0; k < TAPS; k++) {
      const x = k - half + 1 - frac;  // distance from the output position, in input samples
      const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
      const w = x / half;
      const window = Math.abs(w) >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - w * w)) / besselI0(KAISER_BETA);
      table[p * TAPS + k] = sinc * window;
      sum += sinc * window;
    }
    for (let k = 0; k < TAPS; k++) table[p * TAPS + k] /= sum;  // unity gain at DC for every phase
  }
  return table;
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate = 24000, chunkMs = 40, levelMs = 50, flowMs = 100 } = options.processorOptions || {};
    this.ratio = sampleRate / targetRate;
    this.passthrough = this.ratio === 1;
    this.table = this.passthrough ? null : designFilter(this.ratio);
    this.chunkSize = Math.floor((targetRate * chunkMs) / 1000);
    this.buffer = new Float32Array(TAPS * 2 + 256);
    this.turn = null;         // the turn being captured
    this.pendingStop = null;
    this.nextTurn = null;     // a start that came while the previous turn's stop was pending
    this.levelEvery = Math.max(128, Math.round((sampleRate * levelMs) / 1000));
    this.levelFrames = 0;
    this.levelSquares = 0;
    this.levelPeak = 0;
    this.flowFrames = Math.round((sampleRate * flowMs) / 1000);  // input frames until 'flowing' (0: said)
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  beginTurn(turn) {
    this.turn = turn;
    this.limit = this.chunkSize >> 2;  // a short first chunk: the first append leaves ~10 ms after Start
    this.chunk = new Int16Array(this.chunkSize);
    this.fill = 0;
    this.turnSamples = 0;
    this.startTime = null;
    this.buffer.fill(0);
    this.length = TAPS / 2;        // zero history: the first output sits on the first input sample
    this.position = TAPS / 2;      // fractional input index (in `buffer`) of the next output
  }

  onMessage(message) {
    if (message.type === 'start') {
      if (this.pendingStop) this.nextTurn = message.turn;
      else this.beginTurn(message.turn);
    } else if (message.type === 'stop' && message.turn === this.turn && !this.pendingStop) {
      this.pendingStop = message;
    } else if (message.type === 'stop') {
      this.port.postMessage({ type: 'stopped', turn: message.turn, samples: 0, aborted: true });
    }
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    const n = channel ? channel.length : 128;
    if (channel) this.measure(channel);
    if (channel && this.flowFrames > 0 && (this.flowFrames -= n) <= 0) this.port.postMessage({ type: 'flowing' });
    let from = 0;
    if (this.pendingStop) {
      const cut = Math.round((this.pendingStop.untilTime - currentTime) * sampleRate);
      if (cut < n) {
        if (channel && cut > 0) this.capture(channel.subarray(0, cut), currentTime);
        this.finishStop(currentTime + Math.max(0, cut) / sampleRate);
        from = Math.max(0, cut);
      }
    }
    if (this.turn !== null && channel && from < n) this.capture(channel.subarray(from), currentTime + from / sampleRate);
    return true;
  }

  // The meter's level of the raw input (before resampling), posted ~20 times a second: the page draws it itself,
  // so no level ever travels further than the main thread.
  measure(channel) {
    let squares = 0;
    let peak = this.levelPeak;
    for (let i = 0; i < channel.length; i++) {
      const x = channel[i];
      squares += x * x;
      if (x > peak) peak = x;
      else if (-x > peak) peak = -x;
    }
    this.levelSquares += squares;
    this.levelPeak = peak;
    this.levelFrames += channel.length;
    if (this.levelFrames < this.levelEvery) return;
    this.port.postMessage({ type: 'level', rms: Math.sqrt(this.levelSquares / this.levelFrames), peak });
    this.levelFrames = this.levelSquares = this.levelPeak = 0;
  }

  capture(input, time) {
    if (this.startTime === null) this.startTime = time;
    if (this.passthrough) {
      for (let i = 0; i < input.length; i++) this.emit(input[i]);
      return;
    }
    this.buffer.set(input, this.length);
    this.length += input.length;
    this.resample();
  }

  resample() {
    this.filterOut(Infinity);
    const keep = Math.floor(this.position) - TAPS / 2 + 1;  // first sample a later output still needs
    this.buffer.copyWithin(0, keep, this.length);
    this.length -= keep;
    this.position -= keep;
  }

  // Up to `count` outputs, as far as the buffered input reaches (each needs TAPS/2 samples of look-ahead).
  filterOut(count) {
    const { buffer, table, ratio } = this;
    const half = TAPS / 2;
    let position = this.position;
    for (let produced = 0; produced < count && Math.floor(position) + half < this.length; produced++) {
      const i = Math.floor(position);
      const offset = Math.round((position - i) * PHASES) * TAPS;
      const base = i - half + 1;
      let sum = 0;
      for (let k = 0; k < TAPS; k++) sum += table[offset + k] * buffer[base + k];
      this.position = position += ratio;
      this.emit(sum);
    }
  }

  emit(sample) {
    const s = sample < -1 ? -1 : sample > 1 ? 1 : sample;
    this.chunk[this.fill++] = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
    this.turnSamples++;
    if (this.fill === this.limit) this.postChunk();
  }

  postChunk() {
    if (!this.fill) return;
    const pcm = this.fill === this.chunkSize ? this.chunk : this.chunk.slice(0, this.fill);
    this.port.postMessage({ type: 'chunk', turn: this.turn, pcm: pcm.buffer }, [pcm.buffer]);
    this.chunk = new Int16Array(this.chunkSize);
    this.fill = 0;
    this.limit = this.chunkSize;
  }

  // The turn's input ends here: the filter's look-ahead is fed silence so the last samples come out too.
  finishStop(time) {
    if (!this.passthrough && this.turn !== null) {
      const lastReal = this.length - 1;
      const remaining = this.position <= lastReal ? Math.floor((lastReal - this.position) / this.ratio) + 1 : 0;
      this.buffer.fill(0, this.length, this.length + TAPS / 2);
      this.length += TAPS / 2;
      this.filterOut(remaining);
    }
    this.postChunk();
    const { turn } = this.pendingStop;
    this.pendingStop = null;
    this.port.postMessage({ type: 'stopped', turn, samples: this.turnSamples, startTime: this.startTime, time });
    this.turn = null;
    if (this.nextTurn !== null) {
      this.beginTurn(this.nextTurn);
      this.nextTurn = null;
    }
  }
}

registerProcessor('capture-processor', CaptureProcessor);
