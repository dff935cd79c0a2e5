// The "Events" drawer's memory: the last MAX_EVENTS client and server events of the Realtime socket, in a ring.
// While the drawer is closed an entry is only its time, direction, type and ids (no copy, no JSON: off the hot
// path); while it is open (`live`) each entry also keeps a redacted, bounded JSON text. Audio payloads and anything
// that looks like a credential never enter the log, so neither can reach the page, Python or the clipboard.
const MAX_EVENTS = 500;
const MAX_JSON_CHARS = 1000;
const MAX_SNAPSHOT = 200;  // per read: one NiceGUI message stays far below its 1 MB limit
const SECRET_KEY = /secret|token$|api_key|authorization|password/i;
const AUDIO_KEYS = new Set(['audio', 'delta']);  // `delta` only in audio events (transcript deltas are text)
const AUDIO_EVENTS = new Set(['input_audio_buffer.append', 'response.output_audio.delta']);
const IDS = ['event_id', 'item_id', 'response_id', 'call_id'];

export function redact(event) {
  const audioEvent = AUDIO_EVENTS.has(event.type);
  return JSON.stringify(event, (key, value) => {
    if (typeof value !== 'string') return value;
    if (SECRET_KEY.test(key)) return '[redacted]';
    if (key === 'audio' || (audioEvent && AUDIO_KEYS.has(key))) return `[audio: ${value.length} base64 chars]`;
    return value.length > 500 ? value.slice(0, 500) + '…' : value;
  });
}

export class EventLog {
  constructor(capacity = MAX_EVENTS) {
    this.capacity = capacity;
    this.entries = [];   // a ring: `next` is where the oldest entry is overwritten
    this.next = 0;
    this.total = 0;      // ever recorded, so the drawer can say how many were dropped
    this.live = false;
  }

  record(direction, event) {
    const type = String(event.type).slice(0, 100);
    const entry = { n: this.total, t: Math.round(performance.now()), direction, type };
    for (const id of IDS) if (typeof event[id] === 'string') entry[id] = event[id].slice(0, 100);
    if (this.live) {
      const json = redact(event);
      entry.json = json.length > MAX_JSON_CHARS ? json.slice(0, MAX_JSON_CHARS) + '…' : json;
    }
    if (this.entries.length < this.capacity) this.entries.push(entry);
    else this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
  }

  // Oldest first, at most `limit` of the entries numbered `after` or later (only types containing `filter`).
  snapshot(filter = '', after = 0, limit = MAX_SNAPSHOT) {
    const ordered = this.entries.length < this.capacity
      ? this.entries : this.entries.slice(this.next).concat(this.entries.slice(0, this.next));
    const kept = ordered.filter((e) => e.n >= after && (!filter || e.type.includes(filter)));
    return { total: this.total, entries: kept.slice(-limit) };
  }
}
