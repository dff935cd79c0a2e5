// Player worklet: a sample queue fed with 24 kHz float chunks, played at the context rate (linear interpolation)
// after a pre-roll. The pre-roll is an adaptive jitter buffer: it starts small (first audio is quick), grows after
// each underrun (the network is jittery) and shrinks again over replies that played without one. Playback starts
// once the pre-roll is queued or, at the latest, `maxWaitMs` after the first sample came (no long silence when
// deltas are late); after an underrun it resumes on half the pre-roll, not a full one.
//
// Messages in:  {type: 'begin', responseId}  a new response: per-response counters restart
//               {type: 'audio', samples: Float32Array}
//               {type: 'end'}                 no more audio for this response: play out, then report 'drained'
//               {type: 'flush'}               drop everything now (failed response, dropped socket, close)
// Messages out: {type: 'playing', ...}       a response's first sound
//               {type: 'progress', ...}      about every 100 ms while playing
//               {type: 'drained', responseId, flushed, framesPlayed, underruns, ...}

class PlayerProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { sourceRate = 24000, prerollMs = 80, minPrerollMs = 60, maxPrerollMs = 400, maxWaitMs = 110 } =
      options.processorOptions || {};
    this.step = sourceRate / sampleRate;
    this.msToFrames = (ms) => Math.round((sourceRate * ms) / 1000);
    this.preroll = this.msToFrames(prerollMs);
    this.minPreroll = this.msToFrames(minPrerollMs);
    this.maxPreroll = this.msToFrames(maxPrerollMs);
    this.maxWait = maxWaitMs / 1000;
    this.waitingSince = null;  // context time the first sample of this buffering phase was queued
    this.resuming = false;     // buffering after an underrun: half the pre-roll is enough
    this.progressEvery = Math.round(sampleRate / 10);
    this.sinceProgress = 0;
    this.queue = [];
    this.head = 0;         // read offset in queue[0]
    this.queued = 0;       // samples waiting
    this.state = 'idle';   // idle | buffering | playing
    this.ended = false;
    this.responseId = null;
    this.prev = 0;
    this.next = 0;
    this.frac = 1;         // >= 1: the next output frame needs a new source sample
    this.totalFrames = 0;
    this.totalUnderruns = 0;
    this.respFrames = 0;
    this.respUnderruns = 0;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    switch (message.type) {
      case 'begin':
        this.responseId = message.responseId;
        if (this.responseId !== null && this.respUnderruns === 0) this.adapt(-this.msToFrames(10));
        this.respFrames = 0;
        this.respUnderruns = 0;
        this.ended = false;
        this.resuming = false;
        if (this.state === 'idle') this.state = 'buffering';
        break;
      case 'audio':
        this.queue.push(message.samples);
        this.queued += message.samples.length;
        if (this.state === 'idle') this.state = 'buffering';
        break;
      case 'end':
        this.ended = true;
        if (this.state === 'idle') this.state = 'buffering';  // lets an audio-less response report drained
        break;
      case 'flush':
        this.queue = [];
        this.head = 0;
        this.queued = 0;
        this.prev = this.next = 0;
        this.frac = 1;
        this.drained(true);
        break;
    }
  }

  pull() {
    if (!this.queued) return undefined;
    const chunk = this.queue[0];
    const sample = chunk[this.head++];
    if (this.head >= chunk.length) {
      this.queue.shift();
      this.head = 0;
    }
    this.queued--;
    this.totalFrames++;
    this.respFrames++;
    return sample;
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    if (this.state === 'buffering') this.buffering();
    if (this.state === 'playing') this.render(out);
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    this.sinceProgress += out.length;
    if (this.state !== 'idle' && this.sinceProgress >= this.progressEvery) this.progress();
    return true;
  }

  buffering() {
    if (this.queued > 0 && this.waitingSince === null) this.waitingSince = currentTime;
    const need = this.resuming ? this.preroll >> 1 : this.preroll;
    const waited = this.waitingSince !== null && currentTime - this.waitingSince >= this.maxWait;
    if (this.queued >= need || (this.queued > 0 && (this.ended || waited))) {
      this.state = 'playing';
      this.waitingSince = null;
      if (this.respFrames === 0) this.port.postMessage({ type: 'playing', ...this.counters() });  // first sound
    } else if (this.ended && this.queued === 0) {
      this.drained(false);
    }
  }

  adapt(deltaFrames) {
    this.preroll = Math.max(this.minPreroll, Math.min(this.maxPreroll, this.preroll + deltaFrames));
  }

  render(out) {
    for (let i = 0; i < out.length; i++) {
      while (this.frac >= 1) {
        const sample = this.pull();
        if (sample === undefined) {
          if (this.ended) {
            this.drained(false);
          } else {
            this.totalUnderruns++;
            this.respUnderruns++;
            this.adapt(this.msToFrames(60));
            this.resuming = true;
            this.state = 'buffering';
          }
          return;  // the rest of `out` stays silent
        }
        this.prev = this.next;
        this.next = sample;
        this.frac -= 1;
      }
      out[i] = this.prev + (this.next - this.prev) * this.frac;
      this.frac += this.step;
    }
  }

  progress() {
    this.sinceProgress = 0;
    this.port.postMessage({ type: 'progress', ...this.counters() });
  }

  counters() {
    return {
      responseId: this.responseId, framesPlayed: this.respFrames, underruns: this.respUnderruns,
      totalFrames: this.totalFrames, totalUnderruns: this.totalUnderruns, playing: this.state === 'playing',
      queued: this.queued, prerollMs: (this.preroll * 1000) / (this.msToFrames(1000)),
      time: currentTime,  // the worklet clock of this report: the recorder places played audio by it
    };
  }

  drained(flushed) {
    this.state = 'idle';
    this.waitingSince = null;
    this.resuming = false;
    this.ended = false;
    this.prev = this.next = 0;
    this.frac = 1;
    this.port.postMessage({ type: 'drained', flushed, ...this.counters() });
  }
}

registerProcessor('player-processor', PlayerProcessor);
