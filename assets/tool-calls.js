// Client events from Python's tool loop (function_call_output items, then one response.create), sent by the browser.
// Items go out at once (adding an item is fine while the person talks or a reply plays). A response.create is the
// turn state's business, which is this tab's alone: it is held while the person is capturing or a reply is under
// way, and sent only between turns, as a reply of its own (expected, status thinking). A turn of the person's that
// asks for its own reply meanwhile answers the tool outputs too: the held create is dropped (no double response).
import { ClientEvent, Status } from './protocol.js';

const BETWEEN_TURNS = new Set([Status.IDLE]);
const MAX_EVENTS = 64;  // one call batch from Python; anything beyond is not a tool reply

export class ToolReplies {
  constructor(session) {
    this.session = session;  // the VoiceSession: socket, status, capturing, replies, askForReply()
    this.held = null;        // {event, socket}: a response.create waiting for the turn in progress to end
  }

  // Python's events, as the tool loop sent them; anything that is not a client event object is ignored.
  send(events) {
    const socket = this.session.socket;
    const list = Array.isArray(events) ? events.slice(0, MAX_EVENTS) : [];
    for (const event of list) {
      if (!event || typeof event !== 'object' || typeof event.type !== 'string') continue;
      if (event.type === ClientEvent.RESPONSE_CREATE) this.held = { event, socket };  // several: still one response
      else if (socket && socket.isOpen) socket.send(event);
    }
    this.release();
  }

  // Called on every status change: a held response.create goes out once the tab is between turns.
  release() {
    const session = this.session;
    if (!this.held) return;
    // The outputs it answers went to that connection: after Close or a reconnect there is nothing to answer.
    if (!session.socket || session.socket !== this.held.socket || !session.socket.isOpen) return this.drop();
    if (!BETWEEN_TURNS.has(session.status) || session.capturing || session.replies.active) return;
    const { event } = this.held;
    this.held = null;
    session.askForReply(null, event);
  }

  drop() {
    this.held = null;
  }
}
