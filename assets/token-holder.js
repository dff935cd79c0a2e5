// The ephemeral token the next connect will use, held in the browser so that Start connects at once.
// Python mints only when asked (`token_wanted`): to prefetch while the tab is visible and was used in the last
// 15 minutes (and again shortly before the held token expires), or because Start found no usable token.
import { TOKEN_TIMEOUT_MESSAGE, TokenReason } from './protocol.js';

const MARGIN_MS = 10_000;             // a token this close to expiry is not used: the socket must open in time
const REFRESH_BEFORE_MS = 15_000;     // ask for a fresh one this long before the held one expires
const IN_USE_MS = 15 * 60_000;        // a tab untouched this long stops prefetching (an overnight tab mints nothing)
const RETRY_MS = 20_000;              // after a failed prefetch

function tokenError(code, message) {
  return Object.assign(new Error(message), { code });
}

export class TokenHolder {
  constructor(request) {
    this.request = request;     // (reason) => void: emits token_wanted
    this.token = null;          // {value, expiresAtMs}
    this.asked = false;         // a request is out; its answer is awaited
    this.waiters = [];          // [{resolve, reject, timer}] of Starts waiting for a token
    this.lastUsed = performance.now();
    this.timer = null;
    this.onVisibility = () => this.prefetch();
    this.onActivity = () => this.used();
    document.addEventListener('visibilitychange', this.onVisibility);
    for (const type of ['pointerdown', 'keydown']) window.addEventListener(type, this.onActivity, { capture: true, passive: true });
  }

  usable() {
    return !!this.token && this.token.expiresAtMs - Date.now() > MARGIN_MS;
  }

  used() {
    const idle = performance.now() - this.lastUsed > IN_USE_MS;
    this.lastUsed = performance.now();
    if (idle) this.prefetch();
  }

  inUse() {
    return document.visibilityState === 'visible' && performance.now() - this.lastUsed < IN_USE_MS;
  }

  // Fresh enough that no refresh is due yet.
  fresh() {
    return !!this.token && this.token.expiresAtMs - Date.now() > REFRESH_BEFORE_MS;
  }

  prefetch() {
    if (this.asked || this.fresh() || !this.inUse()) return;
    this.ask(TokenReason.PREFETCH);
  }

  ask(reason) {
    this.asked = true;
    this.request(reason);
  }

  // The held token (consumed: one token, one connection), or one asked for now; rejects after `timeoutMs`.
  take(timeoutMs) {
    this.lastUsed = performance.now();
    if (this.usable()) {
      const { value } = this.token;
      this.token = null;
      this.prefetch();
      return Promise.resolve(value);
    }
    if (!this.asked) this.ask(TokenReason.START);
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      waiter.timer = setTimeout(() => this.settle(waiter, null, tokenError('timeout', TOKEN_TIMEOUT_MESSAGE)), timeoutMs);
      this.waiters.push(waiter);
    });
  }

  provide(value, expiresAt) {
    this.asked = false;
    const expiresAtMs = Number(expiresAt) * 1000;
    if (typeof value !== 'string' || !value || !Number.isFinite(expiresAtMs)) return this.failed('The token was malformed.');
    this.token = { value, expiresAtMs };
    const waiter = this.waiters[0];
    if (waiter) {
      this.token = null;
      this.settle(waiter, value, null);
      this.prefetch();
    }
    this.schedule(this.token ? this.token.expiresAtMs - Date.now() - REFRESH_BEFORE_MS : null);
  }

  failed(message) {
    this.asked = false;
    for (const waiter of [...this.waiters]) this.settle(waiter, null, tokenError('mint_failed', String(message || 'No token.')));
    this.schedule(RETRY_MS);
  }

  settle(waiter, value, error) {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return;
    this.waiters.splice(index, 1);
    clearTimeout(waiter.timer);
    if (error) waiter.reject(error);
    else waiter.resolve(value);
  }

  schedule(delayMs) {
    clearTimeout(this.timer);
    this.timer = delayMs === null ? null : setTimeout(() => this.prefetch(), Math.max(1000, delayMs));
  }

  cancelWaiters(message) {
    for (const waiter of [...this.waiters]) this.settle(waiter, null, tokenError('closed', message));
  }

  dispose() {
    this.cancelWaiters('closed');
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
    for (const type of ['pointerdown', 'keydown']) window.removeEventListener(type, this.onActivity, { capture: true });
  }
}
