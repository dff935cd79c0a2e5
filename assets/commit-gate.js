// Commit first, reply second: a turn's audio is committed, and only once the server confirms it
// (`input_audio_buffer.committed`) may a reply be asked for. A refused commit (`input_audio_buffer_commit_empty`,
// or any error echoing the commit's event_id) and one never confirmed end the turn without a reply.
import { ClientEvent, ErrorCode } from './protocol.js';

const COMMIT_TIMEOUT_MS = 5000;
let counter = 0;

export function eventId(kind) {
  counter += 1;
  return `event_vu_${kind}_${Date.now().toString(36)}_${counter}`;
}

export class CommitGate {
  constructor({ send, onAccepted, onRefused, onStalled }) {
    this.send = send;               // (clientEvent) => boolean
    this.onAccepted = onAccepted;   // (turn) => void
    this.onRefused = onRefused;     // (turn) => void
    this.onStalled = onStalled;     // (turn) => void
    this.pending = null;            // {turn, eventId, timer}
  }

  commit(turn) {
    this.reset();
    const id = eventId('commit');
    this.pending = { turn, eventId: id, timer: setTimeout(() => this.stalled(id), COMMIT_TIMEOUT_MS) };
    this.send({ type: ClientEvent.INPUT_AUDIO_COMMIT, event_id: id });
  }

  committed() {
    const pending = this.take();
    if (pending) this.onAccepted(pending.turn);
  }

  // Returns true if the error refused the pending commit.
  error({ code, event_id: errorEventId }) {
    if (!this.pending || (code !== ErrorCode.COMMIT_EMPTY && errorEventId !== this.pending.eventId)) return false;
    this.onRefused(this.take().turn);
    return true;
  }

  stalled(id) {
    if (!this.pending || this.pending.eventId !== id) return;
    this.onStalled(this.take().turn);
  }

  take() {
    const pending = this.pending;
    if (pending) clearTimeout(pending.timer);
    this.pending = null;
    return pending;
  }

  reset() {
    this.take();
  }
}
