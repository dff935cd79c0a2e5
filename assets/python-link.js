// Everything the component tells Python goes through here, in as few socket messages as will do:
// - what happens within one short window (50 ms from the first event queued) travels as one BATCH of events, in
//   order (a socket message costs Python far more than the event in it); an error, or a token request a Start
//   waits for, goes at once with what is queued before it. Timers rather than requestAnimationFrame: rAF stops in a hidden tab, and Python
//   must still hear of events there (a timer a hidden tab holds back is caught up by the next event).
// - transcript deltas are coalesced per item and wait up to 200 ms from the first (captions: the reply's text comes
//   ahead of its audio anyway, and a caption a fifth of a second late reads the same); a done event's full text
//   replaces them.
// - only what the reducer, the tool loop and the views use (ForwardFilter); a status that another status replaces
//   before anything else was queued never crosses (e.g. stopping → thinking).
// A text longer than one socket message allows is split into several events, never dropped.
import {
  FORWARDED_SERVER_EVENTS, MAX_TRANSCRIPT_EVENT_CHARS, Role, ServerEvent as S, Status, TokenReason, UiEvent,
} from './protocol.js';
import { forPython } from './server-events.js';

const WINDOW_MS = 50;
const DELTA_WINDOW_MS = 200;
const LATE_MS = 1000;               // a timer this late was held back (a hidden tab): send at the next event
const MAX_BATCH_CHARS = 200_000;    // well below NiceGUI's 1 MB socket message
const MAX_KNOWN_ITEMS = 256;
// Sent at once: an error, and a token a Start waits for (a prefetch can wait for the window like the rest).
const urgent = (name, payload) => name === UiEvent.ERROR
  || (name === UiEvent.TOKEN_WANTED && payload.reason !== TokenReason.PREFETCH);
const PASSING = new Set([Status.STOPPING, Status.THINKING, Status.SPEAKING, Status.IDLE]);  // may be replaced unseen
const DELTAS = new Map([
  [S.INPUT_TRANSCRIPTION_DELTA, Role.USER], [S.OUTPUT_AUDIO_TRANSCRIPT_DELTA, Role.AGENT], [S.OUTPUT_TEXT_DELTA, Role.AGENT],
]);
const DONE = new Map([
  [S.INPUT_TRANSCRIPTION_COMPLETED, [Role.USER, 'transcript']], [S.OUTPUT_AUDIO_TRANSCRIPT_DONE, [Role.AGENT, 'transcript']],
  [S.OUTPUT_TEXT_DONE, [Role.AGENT, 'text']],
]);

const hasText = (item) => Array.isArray(item.content)
  && item.content.some((part) => part && ((typeof part.text === 'string' && part.text) || (typeof part.transcript === 'string' && part.transcript)));

// What Python already knows of each recent item, so that an item event adding nothing is not sent: the reducer takes
// an item's place (previous_item_id), role and first text; the tool loop a function call once it is done.
export class ForwardFilter {
  constructor() {
    this.items = new Map();  // item_id -> {previous, text, doneStatus}, the most recent MAX_KNOWN_ITEMS
  }

  known(id) {
    let entry = this.items.get(id);
    if (!entry) {
      entry = { previous: undefined, text: false, doneStatus: null };
      this.items.set(id, entry);
      if (this.items.size > MAX_KNOWN_ITEMS) this.items.delete(this.items.keys().next().value);
    }
    return entry;
  }

  text(id) {
    this.known(id).text = true;
  }

  // True if the (checked) server event tells Python something it does not know yet.
  wanted(event) {
    if (!FORWARDED_SERVER_EVENTS.has(event.type)) return false;
    if (event.type === S.INPUT_AUDIO_COMMITTED) return this.placed(event.item_id, event.previous_item_id);
    const item = event.item;
    if (event.type === S.OUTPUT_ITEM_DONE) return item.type === 'function_call' && this.callDone(item);
    if (event.type !== S.ITEM_ADDED && event.type !== S.ITEM_DONE) return true;
    const id = item.id;
    if (typeof id !== 'string') return false;  // nothing could place it
    if (item.type === 'function_call') {
      const placed = this.placed(id, event.previous_item_id);
      return (event.type === S.ITEM_DONE && this.callDone(item)) || placed;
    }
    if ((item.type || 'message') !== 'message' || (item.role !== Role.USER && item.role !== Role.AGENT)) return false;
    const placed = this.placed(id, event.previous_item_id);
    const entry = this.known(id);
    const news = !entry.text && hasText(item);
    if (news) entry.text = true;
    return placed || news;
  }

  // A new item, or a place it did not have.
  placed(id, previous) {
    const isNew = !this.items.has(id);
    const entry = this.known(id);
    const moved = typeof previous === 'string' && previous !== entry.previous;
    if (typeof previous === 'string') entry.previous = previous;
    return isNew || moved;
  }

  callDone(item) {
    const entry = this.known(item.id);
    const status = item.status || 'completed';
    if (entry.doneStatus === status) return false;  // response.output_item.done and conversation.item.done: once
    entry.doneStatus = status;
    return true;
  }
}

export class PythonLink {
  constructor(emit) {
    this.emit = emit;           // (name, payload) => void: the Vue component's $emit
    this.pending = new Map();   // item_id -> {role, delta}, in first-delta order
    this.outbox = [];           // [name, payload] not yet sent
    this.outboxChars = 0;
    this.since = 0;             // when the oldest event not yet sent was queued
    this.timer = null;
    this.due = 0;               // when the timer fires
    this.filter = new ForwardFilter();
    this.sent = 0;              // socket messages to Python, for the benchmark's per-turn count
    this.events = 0;            // events in them
  }

  // Any event Python must see (status, error, notice, token_wanted, latency) keeps its order after the text.
  now(name, payload) {
    this.takePending();
    const last = this.outbox[this.outbox.length - 1];
    if (name === UiEvent.STATUS && last && last[0] === UiEvent.STATUS && PASSING.has(last[1].status)) {
      this.outbox.pop();  // nothing happened in between: that status was never anyone's to see
      this.outboxChars -= last[2];
      this.events--;
    }
    if (name === UiEvent.TRANSCRIPT && payload.delta) this.filter.text(payload.item_id);  // a typed message
    this.queue(name, payload, name === UiEvent.SERVER_EVENT ? JSON.stringify(payload).length : 200);
    if (urgent(name, payload)) this.flush();
  }

  serverEvent(event) {
    const role = DELTAS.get(event.type);
    if (role) {
      this.mark();
      const entry = this.pending.get(event.item_id);
      if (entry) entry.delta += event.delta;
      else this.pending.set(event.item_id, { role, delta: event.delta });
      this.schedule(DELTA_WINDOW_MS);
      return;
    }
    const done = DONE.get(event.type);
    if (done) {
      this.pending.delete(event.item_id);  // the done event carries the whole text
      this.takePending();
      const text = event[done[1]] || '';
      this.transcript(event.item_id, done[0], text, !!text, true);
      return;
    }
    if (this.filter.wanted(event)) this.now(UiEvent.SERVER_EVENT, forPython(event));
  }

  // Sends everything queued now, as one message (or a few, if it is long).
  flush() {
    this.takePending();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const outbox = this.outbox;
    this.outbox = [];
    this.outboxChars = 0;
    if (!outbox.length) return;
    let start = 0;
    let chars = 0;
    outbox.forEach((entry, i) => {
      chars += entry[2];
      if (chars > MAX_BATCH_CHARS && i > start) {
        this.send(outbox.slice(start, i));
        start = i;
        chars = entry[2];
      }
    });
    this.send(outbox.slice(start));
  }

  send(entries) {
    this.sent++;
    this.emit(UiEvent.BATCH, entries.map(([name, payload]) => [name, payload]));
  }

  queue(name, payload, chars) {
    this.mark();
    this.outbox.push([name, payload, chars]);
    this.outboxChars += chars;
    this.events++;
    if (this.outboxChars > MAX_BATCH_CHARS) this.flush();
    else this.schedule(WINDOW_MS);
  }

  mark() {
    if (!this.outbox.length && !this.pending.size) this.since = performance.now();
  }

  // Sends within `windowMs` from now at the latest (an earlier send already due stays).
  schedule(windowMs) {
    const now = performance.now();
    if (now - this.since > LATE_MS) return this.flush();
    if (this.timer !== null && this.due <= now + windowMs) return;
    clearTimeout(this.timer);
    this.due = now + windowMs;
    this.timer = setTimeout(() => this.flush(), windowMs);
  }

  takePending() {
    const pending = this.pending;
    if (!pending.size) return;
    this.pending = new Map();
    for (const [itemId, { role, delta }] of pending) this.transcript(itemId, role, delta, false, false);
  }

  transcript(itemId, role, text, replace, final) {
    const step = MAX_TRANSCRIPT_EVENT_CHARS;
    const parts = Math.max(1, Math.ceil(text.length / step));
    if (text) this.filter.text(itemId);
    for (let i = 0; i < parts; i++) {
      const delta = text.slice(i * step, (i + 1) * step);
      this.queue(UiEvent.TRANSCRIPT, {
        item_id: itemId, role, delta, replace: replace && i === 0, final: final && i === parts - 1,
      }, delta.length + 100);
    }
  }

  close() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
    this.outbox = [];
    this.outboxChars = 0;
  }
}
