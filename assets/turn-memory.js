// What was said so far, as text, kept in the browser so that a new Realtime session can be told (session-renewal.js).
// It is fed from the same server events the transcript cards are: the done events carry each turn's whole text
// (a user's transcription, an agent's transcript or text), and a typed message's item echo carries its text.
// Turns keep the conversation's order by the moment their item first appeared (a commit, an item, a reply's item),
// not by when their text was done: a user transcript that finishes after the reply began still comes first.
// Bounded: at most MAX_ENTRIES turns are kept, each at most `maxChars` long; the replay is the newest turns that fit
// in `maxTurns` and `maxChars` together. Tool calls, their outputs and audio are not kept (text only).
import { ClientEvent, RESTORED_ITEM_PREFIX as RESTORED_ID, Role, ServerEvent as S } from './protocol.js';

export const REPLAY_TURNS = 40;      // defaults; the page passes VOICE_UI_REPLAY_TURNS / VOICE_UI_REPLAY_CHARS
export const REPLAY_CHARS = 16000;
const MAX_ENTRIES = 1000;
const UNFINISHED_GRACE_MS = 15000;   // a turn whose text has not come this long after it began is not waited for
const MAX_ITEM_ID = 32;              // GA item ids: at most 32 characters
const TEXT_PARTS = { [Role.USER]: 'input_text', [Role.AGENT]: 'output_text' };

const isId = (value) => typeof value === 'string' && value.length > 0 && value.length <= MAX_ITEM_ID;
const textOf = (value) => (typeof value === 'string' ? value : '');

export class TurnMemory {
  constructor({ maxTurns = REPLAY_TURNS, maxChars = REPLAY_CHARS } = {}) {
    this.maxTurns = Math.max(0, Math.floor(Number(maxTurns) || 0));
    this.maxChars = Math.max(0, Math.floor(Number(maxChars) || 0));
    this.entries = new Map();  // item id -> {role, text, done, since}; a Map keeps the order of first sight
  }

  // One server event (already parsed and type-checked by server-events.js; fields are still checked here).
  seen(event) {
    switch (event.type) {
      case S.INPUT_AUDIO_COMMITTED:
        return this.slot(event.item_id, Role.USER);
      case S.ITEM_ADDED:
      case S.ITEM_DONE:
      case S.OUTPUT_ITEM_ADDED:
        return this.item(event.item, event.type === S.OUTPUT_ITEM_ADDED);
      case S.INPUT_TRANSCRIPTION_COMPLETED:
        return this.finish(event.item_id, Role.USER, event.transcript);
      case S.INPUT_TRANSCRIPTION_FAILED:
        return this.finish(event.item_id, Role.USER, '');
      case S.OUTPUT_AUDIO_TRANSCRIPT_DONE:
        return this.finish(event.item_id, Role.AGENT, event.transcript);
      case S.OUTPUT_TEXT_DONE:
        return this.finish(event.item_id, Role.AGENT, event.text);
      case S.ITEM_DELETED:
        return this.entries.delete(event.item_id);
      default:
        return undefined;
    }
  }

  item(item, fromResponse) {
    if (!item || typeof item !== 'object' || item.type !== 'message') return;
    const role = fromResponse ? Role.AGENT : item.role;
    if (role !== Role.USER && role !== Role.AGENT) return;
    const entry = this.slot(item.id, role);
    if (!entry || entry.done || fromResponse || !Array.isArray(item.content)) return;
    // A typed message (or any item created with text) is complete as created; audio turns wait for their transcript.
    const text = item.content.map((part) => (part && part.type === TEXT_PARTS[role] ? textOf(part.text) : '')).join('');
    if (text) this.finish(item.id, role, text);
  }

  slot(itemId, role) {
    if (!isId(itemId)) return null;
    let entry = this.entries.get(itemId);
    if (!entry) {
      entry = { role, text: '', done: false, since: performance.now() };
      this.entries.set(itemId, entry);
      if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value);
    }
    return entry;
  }

  finish(itemId, role, text) {
    const entry = this.slot(itemId, role);
    if (!entry) return;
    entry.text = this.clean(text);
    entry.done = true;
  }

  clean(text) {  // a turn's text as kept: a string, trimmed, at most maxChars
    return textOf(text).trim().slice(0, this.maxChars);
  }

  // Turns of this conversation from before the page loaded (Python restored them after a reload or a replica's
  // failover): they go first, as finished turns, so the next session is told them like any other. `turns` is
  // [{role, text}]; anything else in it is skipped. Ids are the restored cards' ids, never a server's.
  seed(turns) {
    if (!Array.isArray(turns)) return 0;
    const earlier = [];
    for (const turn of turns.slice(-MAX_ENTRIES)) {
      const role = turn && turn.role;
      const text = this.clean(turn && turn.text);
      if ((role !== Role.USER && role !== Role.AGENT) || !text) continue;
      earlier.push([`${RESTORED_ID}${earlier.length}`, { role, text, done: true, since: 0 }]);
    }
    const later = [...this.entries].filter(([itemId]) => !itemId.startsWith(RESTORED_ID));
    this.entries = new Map([...earlier, ...later].slice(-MAX_ENTRIES));
    return earlier.length;
  }

  // True while a turn that began lately still waits for its text (a rollover now would forget it).
  waiting() {
    const now = performance.now();
    for (const entry of this.entries.values()) if (!entry.done && now - entry.since < UNFINISHED_GRACE_MS) return true;
    return false;
  }

  // The connection ended: a turn without its text by now never gets it (its item died with the session).
  dropUnfinished() {
    for (const [itemId, entry] of [...this.entries]) if (!entry.done) this.entries.delete(itemId);
  }

  // The newest finished turns with text that fit both bounds, oldest first, as GA conversation items (same ids).
  replayItems() {
    const chosen = [];
    let chars = 0;
    for (const [itemId, entry] of [...this.entries].reverse()) {
      if (chosen.length >= this.maxTurns) break;
      if (!entry.done || !entry.text) continue;
      if (chars + entry.text.length > this.maxChars) break;
      chars += entry.text.length;
      chosen.push({ id: itemId, type: 'message', role: entry.role,
        content: [{ type: TEXT_PARTS[entry.role], text: entry.text }] });
    }
    return chosen.reverse();
  }

  // The replay as client events, one conversation.item.create per turn (each event id names the item it carries).
  replayEvents() {
    return this.replayItems().map((item) => ({ type: ClientEvent.ITEM_CREATE, event_id: `replay_${item.id}`.slice(0, 64),
      item }));
  }

  // Finished turns with text (what an unbounded replay would carry).
  finished() {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.done && entry.text) count++;
    return count;
  }

  get size() {
    return this.entries.size;
  }

  clear() {
    this.entries.clear();
  }
}
