// The agent's replies on the client: which response is playing, its audio into the player, barge-in (PROTOCOL.md
// §4: stop playback, cancel the reply if still streaming, truncate the item to what was heard) and a watchdog for
// a reply that stops arriving (no `response.done`), so the page is never left "speaking" or "thinking" forever.
import { ClientEvent, ResponseStatus, SAMPLE_RATE, ServerEvent } from './protocol.js';
import { base64ToPcm16 } from './audio/pcm16.js';

const framesToMs = (frames) => Math.floor((frames * 1000) / SAMPLE_RATE);
const REMEMBERED_INTERRUPTS = 32;

export class ReplyTracker {
  constructor({ player, stats, watchdogMs, onAudio, onFinished, onStalled }) {
    this.player = player;          // () => Player
    this.stats = stats;
    this.watchdogMs = watchdogMs;
    this.onAudio = onAudio;        // first audio of a reply arrived
    this.onFinished = onFinished;  // the reply played out (or was dropped): (playback) => void
    this.onStalled = onStalled;    // nothing of the reply arrived for watchdogMs
    this.response = null;          // {id, itemId, audio, ended, done, frames}
    this.awaiting = false;         // response.create sent, response.created not yet seen
    this.cancelAwaited = false;    // barge-in before the reply was created: drop it when it comes
    this.interrupted = [];         // ids of replies cut off by barge-in: their late deltas are dropped
    this.timer = null;
  }

  get active() {
    return this.awaiting || !!this.response;
  }

  // After response.create was sent.
  expect() {
    this.awaiting = true;
    this.cancelAwaited = false;
    this.arm();
  }

  arm() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.stalled(), this.watchdogMs);
  }

  disarm() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  // Returns true if the event was audio (which never goes to Python).
  onEvent(event) {
    switch (event.type) {
      case ServerEvent.RESPONSE_CREATED:
        this.begin(event.response.id);
        return false;
      case ServerEvent.OUTPUT_AUDIO_DELTA:
        this.audio(event);
        return true;
      case ServerEvent.OUTPUT_AUDIO_DONE:
        if (this.isCurrent(event.response_id)) this.endAudio();
        return false;
      case ServerEvent.RESPONSE_DONE:
        this.done(event.response);
        return false;
      default:
        if (this.response && event.response_id === this.response.id) this.arm();  // transcript deltas: still alive
        return false;
    }
  }

  isCurrent(id) {
    return !!this.response && (!id || this.response.id === id);
  }

  begin(id) {
    this.awaiting = false;
    if (this.cancelAwaited) {
      this.cancelAwaited = false;
      this.remember(id);
      return;
    }
    if (this.interrupted.includes(id) || (this.response && this.response.id === id)) return;
    this.response = { id, itemId: null, audio: false, ended: false, done: false, frames: 0 };
    this.player().begin(id);
    this.arm();
  }

  audio(event) {
    if (this.interrupted.includes(event.response_id)) return;
    if (!this.response || this.response.id !== event.response_id) this.begin(event.response_id);
    if (!this.response) return;
    let pcm;
    try {
      pcm = base64ToPcm16(event.delta);
    } catch {
      console.warn('voice-ui: ignoring an audio delta that is not base64');
      return;
    }
    this.arm();
    if (event.item_id) this.response.itemId = event.item_id;
    this.stats.received(pcm.length, this.response.frames === 0);
    this.response.frames += pcm.length;
    this.player().push(pcm);
    if (!this.response.audio) {
      this.response.audio = true;
      this.onAudio();
    }
  }

  endAudio() {
    if (this.response.ended) return;
    this.response.ended = true;
    this.player().end();
  }

  done(response) {
    this.awaiting = false;
    if (!this.isCurrent(response.id)) {
      if (!this.response) {
        this.disarm();
        this.onFinished(null);  // nothing of it ever reached us (a text-only or cancelled reply)
      }
      return;
    }
    this.disarm();  // from here the player decides when it is over
    this.response.done = true;
    if (response.status === ResponseStatus.FAILED || response.status === ResponseStatus.CANCELLED) this.player().flush();
    else this.endAudio();
  }

  // The player reports that it ran dry after end(), or was flushed.
  drained(counters) {
    const response = this.response;
    if (!response || (!counters.flushed && counters.responseId !== response.id)) return;
    this.response = null;
    this.disarm();
    const playback = { frames_played: counters.framesPlayed, underruns: counters.underruns, response_id: response.id };
    this.stats.played(playback, counters, response.frames);
    this.onFinished(playback);
  }

  // Barge-in: the person talks over the agent. Resolves with the milliseconds of the reply that were heard.
  async interrupt(socket) {
    if (this.awaiting && !this.response) {
      this.cancelAwaited = true;
      this.awaiting = false;
      this.disarm();
      socket.send({ type: ClientEvent.RESPONSE_CANCEL });
      return 0;
    }
    const reply = this.response;
    if (!reply) return 0;
    this.remember(reply.id);
    if (!reply.done) socket.send({ type: ClientEvent.RESPONSE_CANCEL });  // first: the server stops producing it
    const counters = await this.player().flush();
    const heardMs = Math.min(framesToMs(counters.framesPlayed || 0), framesToMs(reply.frames));
    if (reply.itemId) {
      socket.send({ type: ClientEvent.ITEM_TRUNCATE, item_id: reply.itemId, content_index: 0, audio_end_ms: heardMs });
    }
    return heardMs;
  }

  remember(id) {
    this.interrupted.push(id);
    if (this.interrupted.length > REMEMBERED_INTERRUPTS) this.interrupted.shift();
  }

  stalled() {
    this.timer = null;
    const hadReply = !!this.response;
    this.awaiting = false;
    if (this.response) this.remember(this.response.id);
    this.response = null;
    if (hadReply) this.player().flush();
    this.onStalled();
  }

  // The connection is gone: drop the reply being played, and record what of it was heard.
  abandon() {
    const reply = this.response;
    this.reset();
    if (!reply || !this.player()) return;
    this.player().flush().then((counters) => {
      const playback = { frames_played: counters.framesPlayed, underruns: counters.underruns, response_id: reply.id };
      this.stats.played(playback, { ...counters, flushed: true }, reply.frames);
    });
  }

  reset() {
    this.disarm();
    this.response = null;
    this.awaiting = this.cancelAwaited = false;
  }
}
