// A typed message is a turn too: `conversation.item.create` (a user message with `input_text`), then
// `response.create`. It acts at once in the browser — typing over the agent interrupts it exactly like barge-in —
// and Python is told through the same TRANSCRIPT event a spoken turn uses, so the user card shows before the
// server echoes the item (the item id is chosen here, so the echo lands on the same card).
// Typed before the socket is open: the text waits and goes as soon as the session is set up.
import { ClientEvent, MAX_TYPED_CHARS, Role, Status, UiEvent } from './protocol.js';
import { eventId } from './commit-gate.js';
import { dropCapture } from './hands-free.js';

const MAX_QUEUED = 8;
let counter = 0;

// GA item ids are at most 32 characters.
function itemId() {
  counter += 1;
  return `item_vu${Date.now().toString(36)}${counter}`.slice(0, 32);
}

export class TypedTurns {
  constructor(session) {
    this.session = session;  // the VoiceSession: its socket, replies, link and status
    this.queued = [];        // texts typed while connecting
    this.sending = Promise.resolve();  // messages go out in the order they were typed
  }

  // Called inside the user's gesture (Enter, Send click). Returns false for an empty message.
  send(rawText) {
    const text = String(rawText ?? '').trim().slice(0, MAX_TYPED_CHARS);
    if (!text) return false;
    const s = this.session;
    s.unlockAudio();
    const connected = !!s.socket && s.socket.isOpen && !s.connecting;
    if (!connected) {
      if (this.queued.length < MAX_QUEUED) this.queued.push(text);
      if (!s.connecting) {  // else connect() sends it
        s.stopPending = false;
        s.connect(++s.generation).catch(() => {});  // connect() sends the queued text once the session is set up
      }
      return true;
    }
    this.deliver(text);
    return true;
  }

  // After connect() set the session up: true if queued text was sent (then no push-to-talk turn begins).
  afterConnect() {
    const texts = this.queued.splice(0);
    texts.forEach((text) => this.deliver(text));
    return texts.length > 0;
  }

  // The card and the status change at once, and playback stops at once; the message goes once the cut-off reply is
  // flushed and truncated, so the server sees cancel, truncate, item, response.create in that order.
  deliver(text) {
    const s = this.session;
    const socket = s.socket;
    if (!s.handsFree.on) dropCapture(s);  // a held push-to-talk turn is dropped: the typed text wins
    const id = itemId();
    s.link.now(UiEvent.TRANSCRIPT, { item_id: id, role: Role.USER, delta: text, replace: true, final: true });
    const interrupted = s.replies.active ? s.replies.interrupt(socket) : Promise.resolve(0);  // as barge-in does
    const dropCancelled = s.replies.cancelAwaited;  // a reply cancelled before it was created still comes: drop it
    s.replies.expect();  // from now on the page awaits this message's reply (its watchdog armed)
    s.replies.cancelAwaited = dropCancelled;
    s.setStatus(Status.THINKING);
    this.sending = this.sending.then(() => interrupted).catch(() => 0).then(() => {
      if (socket !== s.socket || !socket.isOpen) return;  // closed or replaced meanwhile: the message is not sent
      socket.send({ type: ClientEvent.ITEM_CREATE, event_id: eventId('item'),
        item: { id, type: 'message', role: Role.USER, content: [{ type: 'input_text', text }] } });
      s.pendingCreate = eventId('create');
      socket.send({ type: ClientEvent.RESPONSE_CREATE, event_id: s.pendingCreate });
    });
  }

  reset() {
    this.queued = [];
  }
}
