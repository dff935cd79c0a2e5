// The browser's WebSocket to the Realtime API, authenticated by an ephemeral token carried as a subprotocol
// (browsers cannot set headers on a WebSocket). JSON events in and out; nothing else.
import { REALTIME_PATH, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from './protocol.js';
import { parseServerFrame } from './server-events.js';

export function sameOriginUrl() {
  return (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + REALTIME_PATH;
}

const STATES = ['connecting', 'open', 'closing', 'closed'];

export class RealtimeSocket {
  constructor({ onEvent, onClose }) {
    this.onEvent = onEvent;   // (serverEvent) => void
    this.onClose = onClose;   // ({code, reason, was_clean, opened}) => void
    this.ws = null;
  }

  get state() {
    return this.ws ? STATES[this.ws.readyState] : 'closed';
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  // Resolves once open; rejects with {code, reason} if the socket closes first (bad token, server down, ...).
  open(url, model, token) {
    const ws = new WebSocket(url + '?model=' + encodeURIComponent(model), [SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token]);
    this.ws = ws;
    let opened = false;
    return new Promise((resolve, reject) => {
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (message) => {
        const event = parseServerFrame(message.data);
        if (!event) return;
        try {
          this.onEvent(event);
        } catch (error) {  // a bug of ours, not the server's: keep the connection and say where
          console.error('voice-ui: a server event could not be handled', event.type, error);
        }
      };
      ws.onclose = (close) => {
        if (this.ws === ws) this.ws = null;
        const info = { code: close.code, reason: close.reason, was_clean: close.wasClean, opened };
        if (!opened) reject(info);
        this.onClose(info);
      };
      ws.onerror = () => {};  // always followed by onclose, which carries the code
    });
  }

  send(event) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(event));
    return true;
  }

  // A socket still connecting is closed cleanly once it opens (closing it now would abort the handshake).
  close(code = 1000, reason = 'client closed') {
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.CONNECTING) ws.addEventListener('open', () => ws.close(code, reason));
    else if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
  }
}
