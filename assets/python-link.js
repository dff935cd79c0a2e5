// Everything the component tells Python goes through here: few, small events. Transcript deltas are coalesced
// per item for one short window (a 50 ms timer rather than requestAnimationFrame: rAF stops in a hidden tab, and
// transcripts must still reach Python there); any other event first flushes what is pending, so Python sees the
// server's order. A text longer than one socket message allows is split into several events, never dropped.
import { FORWARDED_SERVER_EVENTS, MAX_TRANSCRIPT_EVENT_CHARS, Role, ServerEvent as S, UiEvent } from './protocol.js';
import { forPython } from './server-events.js';

const COALESCE_MS = 50;
const DELTAS = new Map([
  [S.INPUT_TRANSCRIPTION_DELTA, Role.USER], [S.OUTPUT_AUDIO_TRANSCRIPT_DELTA, Role.AGENT], [S.OUTPUT_TEXT_DELTA, Role.AGENT],
]);
const DONE = new Map([
  [S.INPUT_TRANSCRIPTION_COMPLETED, [Role.USER, 'transcript']], [S.OUTPUT_AUDIO_TRANSCRIPT_DONE, [Role.AGENT, 'transcript']],
  [S.OUTPUT_TEXT_DONE, [Role.AGENT, 'text']],
]);

export class PythonLink {
  constructor(emit) {
    this.emit = emit;           // (name, payload) => void: the Vue component's $emit
    this.pending = new Map();   // item_id -> {role, delta}, in first-delta order
    this.timer = null;
    this.sent = 0;              // events emitted, for the benchmark's per-turn count
  }

  send(name, payload) {
    this.sent++;
    this.emit(name, payload);
  }

  // Any event Python must see immediately (status, error, notice, token_wanted) keeps its order after the text.
  now(name, payload) {
    this.flush();
    this.send(name, payload);
  }

  serverEvent(event) {
    const role = DELTAS.get(event.type);
    if (role) {
      const entry = this.pending.get(event.item_id);
      if (entry) entry.delta += event.delta;
      else this.pending.set(event.item_id, { role, delta: event.delta });
      if (this.timer === null) this.timer = setTimeout(() => this.flush(), COALESCE_MS);
      return;
    }
    const done = DONE.get(event.type);
    if (done) {
      this.pending.delete(event.item_id);  // the done event carries the whole text
      this.flush();
      const text = event[done[1]] || '';
      this.transcript(event.item_id, done[0], text, !!text, true);
      return;
    }
    if (event.type === S.OUTPUT_ITEM_DONE && !(event.item && event.item.type === 'function_call')) return;
    if (FORWARDED_SERVER_EVENTS.has(event.type)) this.now(UiEvent.SERVER_EVENT, forPython(event));
  }

  flush() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const pending = this.pending;
    this.pending = new Map();
    for (const [itemId, { role, delta }] of pending) this.transcript(itemId, role, delta, false, false);
  }

  transcript(itemId, role, text, replace, final) {
    const step = MAX_TRANSCRIPT_EVENT_CHARS;
    const parts = Math.max(1, Math.ceil(text.length / step));
    for (let i = 0; i < parts; i++) {
      this.send(UiEvent.TRANSCRIPT, {
        item_id: itemId, role, delta: text.slice(i * step, (i + 1) * step),
        replace: replace && i === 0, final: final && i === parts - 1,
      });
    }
  }

  close() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
