// The browser's WebSocket to the Realtime API, authenticated by an ephemeral token carried as a subprotocol
// (browsers cannot set headers on a WebSocket). JSON events in and out; nothing else.
import { REALTIME_PATH, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from './protocol.js';

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
        let event;
        try {
          event = JSON.parse(message.data);
        } catch (error) {
          console.warn('voice-ui: ignoring a non-JSON Realtime frame', error);
          return;
        }
        this.onEvent(event);
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

  close(code = 1000, reason = 'client closed') {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(code, reason);
  }
}
