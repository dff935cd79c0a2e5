// Per-turn latency, measured here in the browser (performance.now ms): end of speech (Stop, or the server VAD's
// speech_stopped) → commit acknowledged → first user transcript → first reply audio heard (the player's own
// 'playing' report) → reply done. One small LATENCY event per turn goes to Python; the stages are milliseconds
// after the end of speech, null when a stage never happened (e.g. no transcription configured).
import { ServerEvent as S, UiEvent } from './protocol.js';

const round = (value) => (value === null ? null : Math.max(0, Math.round(value)));

export class TurnLatency {
  constructor(link, player, turn) {
    this.link = link;        // PythonLink
    this.player = player;    // () => Player | null
    this.turn = turn;        // () => the component's turn counter
    this.record = null;      // the turn being measured
  }

  speechEnded(turn, at = performance.now()) {  // Stop pressed (its gesture time) or VAD end: a new measurement
    this.record = { turn, endAt: at, commitAt: null, transcriptAt: null, doneAt: null,
      itemId: null, responseId: null };
  }

  // Every server event passes through here on its way (returned as it is): only its arrival time is taken.
  seen(event) {
    this.time(event);
    return event;
  }

  time(event) {
    const r = this.record;
    if (event.type === S.SPEECH_STOPPED) return this.speechEnded(this.turn());
    if (!r || r.doneAt !== null) return;
    const now = performance.now();
    if (event.type === S.INPUT_AUDIO_COMMITTED && r.commitAt === null) r.commitAt = now;
    else if ((event.type === S.INPUT_TRANSCRIPTION_DELTA || event.type === S.INPUT_TRANSCRIPTION_COMPLETED)
      && r.transcriptAt === null && r.commitAt !== null) r.transcriptAt = now;
    else if (event.type === S.RESPONSE_CREATED && r.responseId === null) r.responseId = event.response.id;
    else if (event.type === S.OUTPUT_AUDIO_DELTA && r.itemId === null && event.item_id) r.itemId = event.item_id;
    else if (event.type === S.OUTPUT_ITEM_ADDED && r.itemId === null && event.item && event.item.id) r.itemId = event.item.id;
  }

  // The reply played out (or was dropped): the turn's figures go to Python, once.
  replyDone() {
    const r = this.record;
    if (!r || r.doneAt !== null || r.commitAt === null) return;
    r.doneAt = performance.now();
    const player = this.player();
    const startedAt = player && player.counters.startedAt;
    const heardAt = typeof startedAt === 'number' && startedAt >= r.commitAt ? startedAt : null;
    const since = (t) => (t === null ? null : round(t - r.endAt));
    this.link.now(UiEvent.LATENCY, {
      turn: r.turn, item_id: r.itemId, response_id: r.responseId, commit_ms: since(r.commitAt),
      transcript_ms: since(r.transcriptAt), audio_ms: since(heardAt), done_ms: since(r.doneAt),
    });
  }
}
