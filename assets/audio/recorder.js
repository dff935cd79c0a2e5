// The conversation's sound for "Download audio" (issue 14): both sides on one timeline, kept in the browser and
// saved as one WAV from there (audio never passes through Python).
//
// What is kept
//   left channel   the person: exactly the 24 kHz PCM16 chunks that were sent to the Realtime socket
//   right channel  the agent, as heard: only the samples the player really played (played-audio.js), so a reply
//                  cut off by barge-in ends where playback was cut, and unplayed audio never appears
// The file is stereo (user left, agent right; 24 kHz, 16-bit): each side can be analysed on its own, and a player
// still mixes both for listening.
//
// The timeline
//   Audio is placed by when it happened on one clock (performance.now() ms). A person's turn starts when the turn
//   began (the capture worklet starts on that message; the first chunk's arrival if that is not known), and its
//   chunks follow each other sample by sample (the capture is continuous, however late a chunk arrives). A batch
//   of reply audio follows the previous one sample by sample while playback flows; where it (re)starts (a reply's
//   first sound, the end of an underrun) it is placed by when the player worklet played it, from the worklet's own
//   clock, not when the report reached the main thread. So a gap heard in playback (an underrun) of more than
//   AGENT_SNAP_MS is kept as the silence it was; shorter ones are closed up.
//   Silence between turns is kept in real time up to `maxGapSeconds`; a longer pause (the person reading, the tab
//   left open) is shortened to that, on both channels at once, so they stay in step.
//
// Memory: at most `maxSeconds` of timeline (default 30 minutes: about 170 MB of stereo PCM at most, much less as
//   the sides take turns). Beyond it the OLDEST audio is dropped and the recording goes on (a flight recorder: the
//   download holds the last `maxSeconds`), and the page gets one notice saying so. `maxSeconds: 0` records nothing.
import { SAMPLE_RATE } from '../protocol.js';
import { wavBuffer } from './wav.js';

export const DEFAULT_MAX_SECONDS = 30 * 60;
export const DEFAULT_MAX_GAP_SECONDS = 2;
export const NO_AUDIO_MESSAGE = 'No audio recorded yet: the audio download starts with the first turn.';
const AGENT_SNAP_MS = 30;  // the worklet's clock moves in render bursts of a few ms: smaller gaps are not real
const COMPACT_AFTER = 1024;

const framesOf = (ms) => Math.round((ms * SAMPLE_RATE) / 1000);
const msOf = (frames) => (frames * 1000) / SAMPLE_RATE;

function span(seconds) {
  return seconds >= 120 ? `${Math.round(seconds / 60)} minutes` : `${Math.round(seconds)} seconds`;
}

// One side: chunks {at, pcm} in time order that never overlap; `end` is where the last one ends.
class Track {
  constructor() {
    this.chunks = [];
    this.head = 0;   // chunks before it were dropped (compacted now and then, not shifted one by one)
    this.end = 0;
    this.frames = 0;
  }

  add(at, pcm) {
    this.chunks.push({ at, pcm });
    this.end = at + pcm.length;
    this.frames += pcm.length;
  }

  dropBefore(position) {
    while (this.head < this.chunks.length) {
      const chunk = this.chunks[this.head];
      if (chunk.at + chunk.pcm.length > position) {
        if (chunk.at < position) {  // a copy: the kept part must not pin the whole old buffer
          this.frames -= position - chunk.at;
          chunk.pcm = chunk.pcm.slice(position - chunk.at);
          chunk.at = position;
        }
        break;
      }
      this.frames -= chunk.pcm.length;
      this.head++;
    }
    if (this.head > COMPACT_AFTER && this.head * 2 > this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }

  // Writes this side into channel `channel` of interleaved stereo `samples`, whose first frame is `start`.
  writeInto(samples, channel, start) {
    for (let c = this.head; c < this.chunks.length; c++) {
      const { at, pcm } = this.chunks[c];
      for (let k = 0, i = (at - start) * 2 + channel; k < pcm.length; k++, i += 2) samples[i] = pcm[k];
    }
  }
}

export class ConversationRecorder {
  constructor({ maxSeconds = DEFAULT_MAX_SECONDS, maxGapSeconds = DEFAULT_MAX_GAP_SECONDS,
    now = () => performance.now(), onNotice = () => {} } = {}) {
    const seconds = Number.isFinite(maxSeconds) && maxSeconds > 0 ? maxSeconds : 0;
    this.maxSeconds = seconds;
    this.maxFrames = Math.round(seconds * SAMPLE_RATE);
    this.maxGap = framesOf(1000 * (Number.isFinite(maxGapSeconds) && maxGapSeconds >= 0 ? maxGapSeconds : 0));
    this.now = now;            // the clock of the whole timeline (ms)
    this.onNotice = onNotice;  // (message) => void: shown on the page
    this.reset();
  }

  get enabled() {
    return this.maxFrames > 0;
  }

  // A new conversation (Close Session clears the transcript, and so the audio too).
  reset() {
    this.user = new Track();
    this.agent = new Track();
    this.origin = null;      // clock ms of timeline frame 0; moves on when a long silence is shortened
    this.start = 0;          // the first frame still kept (moves on once the cap is reached)
    this.userTurn = null;
    this.capped = false;
  }

  // A chunk of the person's audio that was just sent; `record`: the turn's {turn, startedAt} (session-stats.js).
  sent(turn, pcm, record = null) {
    if (!this.enabled || !pcm || !pcm.length) return;
    const newTurn = turn !== this.userTurn;
    this.userTurn = turn;
    if (!newTurn) return this.place(this.user, pcm, null, Infinity);  // the capture is continuous: contiguous
    const began = record && record.turn === turn && Number.isFinite(record.startedAt) ? record.startedAt : null;
    this.place(this.user, pcm, began !== null ? began : this.now() - msOf(pcm.length), 0);
  }

  // Reply audio that the player played; its last sample played at clock `endMs`. `continuous`: it followed the
  // previous batch without a pause (no underrun, no drain between them).
  heard(pcm, endMs, continuous = false) {
    if (!this.enabled || !pcm || !pcm.length) return;
    if (continuous && this.agent.frames) return this.place(this.agent, pcm, null, Infinity);
    this.place(this.agent, pcm, endMs - msOf(pcm.length), framesOf(AGENT_SNAP_MS));
  }

  // `pcm` began at `startMs`; it goes there unless that is at most `snap` frames after the track's end (then it
  // follows on without a gap). Never before the track's end: a side's audio never overlaps itself.
  place(track, pcm, startMs, snap) {
    if (this.origin === null) this.origin = startMs;
    const wanted = startMs === null ? track.end : framesOf(startMs - this.origin);
    let at = Math.max(wanted - track.end > snap ? wanted : track.end, this.start);
    const silence = at - this.end;
    if (silence > this.maxGap) {  // a long pause: shorten it on the shared clock, for both sides
      this.origin += msOf(silence - this.maxGap);
      at -= silence - this.maxGap;
    }
    track.add(at, pcm);
    this.keepWithinCap();
  }

  get end() {
    return Math.max(this.user.end, this.agent.end, this.start);
  }

  get frames() {
    return this.end - this.start;
  }

  keepWithinCap() {
    const from = this.end - this.maxFrames;
    if (from <= this.start) return;
    this.start = from;
    this.user.dropBefore(from);
    this.agent.dropBefore(from);
    if (this.capped) return;
    this.capped = true;
    this.onNotice(`Audio recording keeps the last ${span(this.maxSeconds)}: older audio is left out of the download.`);
  }

  // The recording as a stereo WAV (ArrayBuffer), or null when nothing was recorded.
  wav() {
    const frames = this.frames;
    if (frames <= 0) return null;
    const { buffer, samples } = wavBuffer(frames, 2, SAMPLE_RATE);
    this.user.writeInto(samples, 0, this.start);
    this.agent.writeInto(samples, 1, this.start);
    return buffer;
  }

  // For tests and diagnostics (getStats): what is kept, in frames and seconds.
  summary() {
    return { frames: this.frames, seconds: this.frames / SAMPLE_RATE, userFrames: this.user.frames,
      agentFrames: this.agent.frames, capped: this.capped, maxSeconds: this.maxSeconds };
  }
}
