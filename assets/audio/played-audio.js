// Which of the reply audio queued in the player was really played, for the recorder ("as heard").
//
// The player worklet counts every sample it pulled from its queue (`totalFrames`, never reset) and reports it
// with its clock (`time`) about every 100 ms, when a reply drains and when it is flushed. A flush (barge-in, a
// failed reply, a dropped socket) throws away what was still queued: the samples pushed before that flush and not
// played by then. So the queued samples map to the worklet's count as  pushed index = totalFrames + dropped.
// Each report hands the newly played samples to the recorder, stamped with when the last of them played, and
// whether they followed the previous ones without a pause: playback only pauses at an underrun (counted by the
// worklet) or between replies (after `drained`), so the recorder places by clock only there.
//
// Memory: what waits here is what the worklet holds too (the reply not yet played); past `maxPending` samples
// only lengths are kept (a hostile server bursting hours of audio), and those samples are recorded as silence.
const DEFAULT_MAX_PENDING = 24000 * 60 * 10;

export class PlayedAudio {
  constructor(recorder, maxPending = DEFAULT_MAX_PENDING) {
    this.recorder = recorder && recorder.enabled ? recorder : null;
    this.maxPending = maxPending;
    this.queue = [];      // [{pcm: Int16Array | null, length}] pushed and neither played nor dropped yet
    this.offset = 0;      // samples of queue[0] already taken
    this.pending = 0;     // samples in the queue
    this.pushed = 0;      // samples ever pushed
    this.consumed = 0;    // samples ever taken from the queue (played or dropped)
    this.dropped = 0;     // samples ever dropped by flushes
    this.flushes = [];    // `pushed` at each flush posted and not yet reported
    this.flowing = false; // playback has been going on since the last report (no drain since)
    this.underruns = 0;   // the worklet's totalUnderruns at the last report
  }

  queued(pcm) {
    if (!this.recorder || !pcm.length) return;
    const keep = this.pending + pcm.length <= this.maxPending;
    this.queue.push({ pcm: keep ? pcm : null, length: pcm.length });
    this.pending += pcm.length;
    this.pushed += pcm.length;
  }

  flushing() {
    if (this.recorder) this.flushes.push(this.pushed);
  }

  // A worklet message ({type, totalFrames, flushed, ...}); `endMs`: when its last played sample played.
  report(message, endMs) {
    if (!this.recorder || typeof message.totalFrames !== 'number') return;
    const played = this.take(message.totalFrames + this.dropped - this.consumed);
    const underruns = message.totalUnderruns || 0;
    if (played) this.recorder.heard(played, endMs, this.flowing && underruns === this.underruns);
    if (played) this.flowing = true;
    this.underruns = underruns;
    if (message.type !== 'drained') return;
    this.flowing = false;
    if (!message.flushed) return;
    const mark = this.flushes.length ? this.flushes.shift() : this.pushed;
    const lost = Math.max(0, Math.min(mark - this.consumed, this.pending));
    this.skip(lost);
    this.dropped += lost;
  }

  // The next `count` queued samples as one Int16Array (null if none).
  take(count) {
    const n = Math.max(0, Math.min(count, this.pending));
    if (!n) return null;
    const out = new Int16Array(n);
    let filled = 0;
    while (filled < n) {
      const entry = this.queue[0];
      const step = Math.min(entry.length - this.offset, n - filled);
      if (entry.pcm) out.set(entry.pcm.subarray(this.offset, this.offset + step), filled);
      filled += step;
      this.advance(step);
    }
    return out;
  }

  skip(count) {
    let left = count;
    while (left > 0) {
      const step = Math.min(this.queue[0].length - this.offset, left);
      left -= step;
      this.advance(step);
    }
  }

  advance(step) {
    this.offset += step;
    this.pending -= step;
    this.consumed += step;
    if (this.offset === this.queue[0].length) {
      this.queue.shift();
      this.offset = 0;
    }
  }

  // The player is gone: what it had not reported played is not known to have been heard.
  close() {
    this.queue = [];
    this.offset = this.pending = 0;
    this.flushes = [];
  }
}
