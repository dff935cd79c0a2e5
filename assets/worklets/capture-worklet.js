// Capture worklet: runs at the AudioContext's (device) rate, resamples to 24 kHz in here (Firefox cannot connect
// a mic to a context of another rate), converts to PCM16 and posts chunks of at most `chunkMs` as transferables.
//
// Messages in:  {type: 'start'}                       begin a turn (resampler and chunk reset)
//               {type: 'stop', id, untilTime}         keep capturing until context time `untilTime` (the audio of
//                                                     the Stop moment is still in flight), then flush and answer
// Messages out: {type: 'chunk', pcm: ArrayBuffer}     Int16 samples at the target rate
//               {type: 'started', time}               first captured block of the turn (context time)
//               {type: 'stopped', id, samples, time}  after the final partial chunk was posted

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate = 24000, chunkMs = 40 } = options.processorOptions || {};
    this.ratio = sampleRate / targetRate;
    this.integerRatio = Number.isInteger(this.ratio) ? this.ratio : 0;
    this.chunkSize = Math.floor((targetRate * chunkMs) / 1000);
    this.capturing = false;
    this.pendingStop = null;
    this.resetTurn();
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  resetTurn() {
    this.chunk = new Int16Array(this.chunkSize);
    this.fill = 0;
    this.turnSamples = 0;
    this.startTime = null;
    this.boxSum = 0;      // integer ratio: average `ratio` inputs per output (cheap anti-aliasing)
    this.boxCount = 0;
    this.position = 0;    // other ratios: fractional input index of the next output, relative to this block
    this.last = 0;        // previous block's final input sample (index -1)
  }

  onMessage(message) {
    if (message.type === 'start') {
      this.resetTurn();
      this.capturing = true;
      this.pendingStop = null;
    } else if (message.type === 'stop') {
      this.pendingStop = message;
      if (!this.capturing) this.finishStop();
    }
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (this.capturing && channel && channel.length) {
      if (this.startTime === null) {
        this.startTime = currentTime;
        this.port.postMessage({ type: 'started', time: currentTime });
      }
      if (this.integerRatio) this.decimate(channel);
      else this.interpolate(channel);
    }
    if (this.pendingStop && currentTime >= this.pendingStop.untilTime) this.finishStop();
    return true;
  }

  decimate(input) {
    const r = this.integerRatio;
    for (let i = 0; i < input.length; i++) {
      this.boxSum += input[i];
      if (++this.boxCount === r) {
        this.emit(this.boxSum / r);
        this.boxSum = 0;
        this.boxCount = 0;
      }
    }
  }

  interpolate(input) {
    const n = input.length;
    for (;;) {
      const i = Math.floor(this.position);
      if (i + 1 >= n) break;
      const a = i < 0 ? this.last : input[i];
      this.emit(a + (input[i + 1] - a) * (this.position - i));
      this.position += this.ratio;
    }
    this.position -= n;
    this.last = input[n - 1];
  }

  emit(sample) {
    const s = sample < -1 ? -1 : sample > 1 ? 1 : sample;
    this.chunk[this.fill++] = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
    this.turnSamples++;
    if (this.fill === this.chunkSize) this.postChunk();
  }

  postChunk() {
    if (!this.fill) return;
    const pcm = this.fill === this.chunkSize ? this.chunk : this.chunk.slice(0, this.fill);
    this.port.postMessage({ type: 'chunk', pcm: pcm.buffer }, [pcm.buffer]);
    this.chunk = new Int16Array(this.chunkSize);
    this.fill = 0;
  }

  finishStop() {
    this.postChunk();
    this.capturing = false;
    const { id } = this.pendingStop;
    this.pendingStop = null;
    this.port.postMessage({ type: 'stopped', id, samples: this.turnSamples, startTime: this.startTime, time: currentTime });
  }
}

registerProcessor('capture-processor', CaptureProcessor);
