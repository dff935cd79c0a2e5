// Sessions that outlive their limit. The service ends a Realtime session after a while (OpenAI: 60 minutes, and
// session.created says when: `session.expires_at`), and connections drop. Either way the conversation goes on
// without a click: a new session with a fresh token, the same session.update, the conversation so far replayed as
// text items (turn-memory.js), and a "reconnected" notice for the page. The browser owns this, as it owns the turn
// state; Python is told (status, notice), never asked.
//   planned  a lead time before expires_at, at a quiet moment: between turns, never mid-turn. A turn or reply under
//            way near the cap is let finish; the rollover follows it.
//   expired  the server closed the session anyway (`session_expired`, close 1001): reconnect at once.
//   dropped  any other close of a session that was set up: reconnect with exponential backoff and jitter, at most
//            MAX_ATTEMPTS times in a row, then the error the page shows for a closed connection.
// A turn in progress when the server closes (the person talking, a commit, a reply under way) is lost: its audio
// never reaches the new session. The notice says so, and the person says it again.
// A conversation has a maximum length (VOICE_UI_MAX_CONVERSATION_MINUTES): once reached it is not renewed but ends
// at its next quiet moment (or when its session closes) with a notice saying why; the next Start begins afresh.
import { ErrorCode, ErrorSource, NoticeKind, ServerEvent, Status, TokenReason, UiEvent } from './protocol.js';
import { TurnMemory } from './turn-memory.js';

export const DEFAULT_LIMIT_MS = 60 * 60_000;  // when session.created names no (believable) expiry: OpenAI's cap
const MAX_BELIEVED_MS = 2 * 60 * 60_000;      // an expiry further off than this (or past) is a skewed clock
const LEAD_MAX_MS = 120_000;                  // start looking for a quiet moment at most this long before the cap
const LEAD_MIN_MS = 1000;
const LEAD_SHARE = 0.25;                      // ...and at least this share of a short session before it
export const MAX_ATTEMPTS = 5;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const STABLE_MS = 30_000;       // a session that lived this long starts the attempt count afresh
const MIN_EXPIRED_MS = 1000;    // an "expiry" sooner than this is treated as a drop: no reconnect loop at full speed
const QUIET_POLL_MS = 500;
const RENEWAL_WINDOW_MS = 10 * 60_000;  // a service that keeps ending sessions early is not followed for ever:
const MAX_RENEWALS_PER_WINDOW = 20;     // past this many renewals in the window, the page reports the close instead      // while a rollover is due: how often to look for the quiet moment
const CLOSE_GOING_AWAY = 1001;

// Equal jitter: at least half the exponential step, so tabs that dropped together do not return together.
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}

// How long from now until the rollover is due, given session.created's `expires_at` (Unix seconds).
export function renewalDelay(expiresAt, nowMs = Date.now()) {
  let remaining = Number(expiresAt) * 1000 - nowMs;
  if (!(remaining > 0 && remaining <= MAX_BELIEVED_MS)) remaining = DEFAULT_LIMIT_MS;
  return Math.max(0, remaining - Math.min(LEAD_MAX_MS, Math.max(LEAD_MIN_MS, remaining * LEAD_SHARE)));
}

export function reconnectedMessage(reason, replayed, kept, lost) {
  const why = { planned: 'the voice session reached its time limit, so a new one carries the conversation on',
    expired: 'the voice session reached its time limit, so a new one carries the conversation on',
    dropped: 'the connection dropped and a new session carries the conversation on' }[reason]
    || 'a new voice session carries the conversation on';
  const turns = replayed === kept ? `${replayed} earlier turn${replayed === 1 ? '' : 's'} replayed`
    : `the last ${replayed} of ${kept} earlier turns replayed`;
  return `Reconnected: ${why} (${turns}).` + (lost ? ' What was under way when it closed was lost: please say it again.' : '');
}

export class SessionRenewal {
  constructor(session, { maxConversationMs = 0, replayTurns, replayChars, delay = backoffDelay } = {}) {
    this.session = session;  // the VoiceSession: socket, status, generation, connect(), teardownConnection(), ...
    this.delay = delay;      // (attempt) => ms before that reconnect attempt
    this.memory = new TurnMemory({ maxTurns: replayTurns, maxChars: replayChars });
    this.maxConversationMs = Number(maxConversationMs) > 0 ? Number(maxConversationMs) : Infinity;
    this.renewals = 0;       // sessions that carried a conversation on (for tests and the stats)
    this.recent = [];        // performance.now() of the renewals of the last RENEWAL_WINDOW_MS
    this.forget();
  }

  // A new conversation: nothing remembered, nothing planned.
  forget() {
    clearTimeout(this.dueTimer), clearTimeout(this.pollTimer), clearTimeout(this.retryTimer);
    this.memory.clear();
    this.startedAt = null;   // performance.now() at the conversation's first session.created
    this.openedAt = null;    // ...and at the current session's
    this.createdOn = null;   // the socket whose session.created was seen (a session that was set up)
    this.due = this.expired = this.renewing = this.lost = false;
    this.attempts = 0;
    this.reason = null;      // planned | expired | dropped
    this.replayed = new Set();  // ids replayed into the current session: their echoes are no news for Python
    this.lastReplayed = null;
    this.startWanted = false;  // Start was pressed while reconnecting: the turn begins once the new session is up
    this.waiting = false;      // a reconnect's backoff is under way (retryTimer)
  }

  // Every server event of the current socket. True: the session handled it (Python is not told).
  onEvent(event) {
    this.memory.seen(event);
    // The first new item of a renewed session follows the last replayed one; on the page it follows whatever is last
    // (a reply cut by a drop was not replayed, and its card stays before the new turn).
    if (event.previous_item_id && event.previous_item_id === this.lastReplayed) event.previous_item_id = null;
    if (this.due) this.soon();
    if (event.type === ServerEvent.SESSION_CREATED) {
      this.plan(event.session && event.session.expires_at);
    } else if (event.type === ServerEvent.ERROR && event.error && event.error.code === ErrorCode.SESSION_EXPIRED) {
      this.expired = true;  // the close follows; no error banner for what is renewed at once
      return true;
    } else if (event.type === ServerEvent.ITEM_ADDED || event.type === ServerEvent.ITEM_DONE) {
      return !!event.item && this.replayed.has(event.item.id);
    }
    return false;
  }

  plan(expiresAt) {
    const now = performance.now();
    this.createdOn = this.session.socket;
    this.openedAt = now;
    if (this.startedAt === null) this.startedAt = now;
    clearTimeout(this.dueTimer);
    this.due = false;
    const untilLimit = Math.max(0, this.startedAt + this.maxConversationMs - now);
    this.dueTimer = setTimeout(() => this.becomeDue(), Math.min(renewalDelay(expiresAt), untilLimit));
  }

  becomeDue() {
    this.due = true;
    const tokens = this.session.tokens;  // have the next token ready by the quiet moment
    if (!tokens.usable() && !tokens.asked && !this.overLimit()) tokens.ask(TokenReason.PREFETCH);
    this.whenQuiet();
  }

  soon() {  // out of the caller's stack (a status change, an event): the rollover tears the connection down
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => this.whenQuiet(), 0);
  }

  onStatus() {
    if (this.due) this.soon();
  }

  quiet() {
    const s = this.session;
    if (!s.socket || !s.socket.isOpen || s.replies.active || s.commits.pending || s.flushingTurn !== null
        || s.toolReplies.held || this.memory.waiting()) return false;
    if (s.handsFree.streaming) return s.status === Status.LISTENING && s.handsFree.phase === 'waiting';
    return s.status === Status.IDLE && !s.capturing;
  }

  whenQuiet() {
    clearTimeout(this.pollTimer);
    if (!this.due) return;
    if (this.session.socket && !this.quiet()) {
      this.pollTimer = setTimeout(() => this.whenQuiet(), QUIET_POLL_MS);
      return;
    }
    this.due = false;
    if (!this.session.socket || this.tooMany()) return;  // no session now (an error; a drop being renewed), or a
    // service that ends its sessions far too early: the next session plans anew, or the close is reported
    if (this.overLimit()) return this.end();
    this.reason = 'planned';
    this.reconnect(0);
  }

  overLimit() {
    return this.startedAt !== null && performance.now() - this.startedAt >= this.maxConversationMs;
  }

  // The open socket closed (`info.opened`); replaces a failure by a renewal when the session had been set up.
  socketClosed(socket, info) {
    const s = this.session;
    if (socket !== s.socket || !info.opened) return;  // replaced, closed by us, or reported by connect()
    s.socket = null;
    const wasSetUp = this.createdOn === socket;
    const lived = wasSetUp ? performance.now() - this.openedAt : 0;
    this.createdOn = null;
    if (lived >= STABLE_MS) this.attempts = 0;
    const expired = (this.expired || info.code === CLOSE_GOING_AWAY) && lived >= MIN_EXPIRED_MS;
    this.expired = this.due = false;
    if (!wasSetUp && !this.renewing) return s.fail(ErrorSource.SOCKET, String(info.code), info.reason || '');
    this.lost = this.lost || s.capturing || s.flushingTurn !== null || !!s.commits.pending || s.replies.active;
    if (this.overLimit()) return this.end();
    if (expired && !this.tooMany()) {
      this.reason = 'expired';
      return this.reconnect(0);
    }
    if (!this.retry(ErrorSource.SOCKET, true)) s.fail(ErrorSource.SOCKET, String(info.code), info.reason || '');
  }

  // A connection failed (a renewal attempt, or a session that was set up): true if another attempt is scheduled.
  retry(source, wasSetUp = false) {
    if (!this.renewing && !wasSetUp) return false;
    if ((source !== ErrorSource.SOCKET && source !== ErrorSource.TOKEN) || this.attempts >= MAX_ATTEMPTS
        || this.tooMany()) {
      this.renewing = this.startWanted = false;  // the page shows the error; the next Start still replays what was said
      return false;
    }
    this.attempts++;
    if (wasSetUp) this.reason = 'dropped';  // else a renewal attempt failed: its reason stands
    this.reconnect(this.delay(this.attempts));
    return true;
  }

  tooMany() {
    const now = performance.now();
    this.recent = this.recent.filter((at) => now - at < RENEWAL_WINDOW_MS);
    return this.recent.length >= MAX_RENEWALS_PER_WINDOW;
  }

  reconnect(delayMs) {
    const s = this.session;
    this.recent.push(performance.now());
    this.renewing = true;
    this.reconnectAt = performance.now();
    s.generation++;  // a connect still under way gives up
    s.teardownConnection();
    this.memory.dropUnfinished();
    s.setStatus(Status.RECONNECTING);
    clearTimeout(this.retryTimer);
    const generation = ++s.generation;
    this.waiting = delayMs > 0;
    this.retryTimer = setTimeout(() => {
      this.waiting = false;
      if (generation === s.generation) s.connect(generation, true).catch(() => {});
    }, delayMs);
  }

  // Start pressed while reconnecting (status RECONNECTING): the person wants to talk now, so a backoff still under
  // way is cut short, and the turn's capture begins as soon as the new microphone is open (session-connect.js);
  // resume() then begins the turn with what was said meanwhile.
  wantStart() {
    const s = this.session;
    if (this.startWanted) return;
    this.startWanted = true;
    if (this.waiting) {
      clearTimeout(this.retryTimer);
      this.waiting = false;
      s.connect(++s.generation, true).catch(() => {});
    } else if (s.mic && s.mic.active && s.early.turn === null) {
      s.early.arm();  // the new microphone is already open
    }
  }

  // Called by connect() once the new session is set up (session.update sent): the replay, then the turn state.
  // Returns true when it was a renewal (the status is settled here); false lets connect() go on as after a Start.
  resume(socket, renewing) {
    const s = this.session;
    this.memory.dropUnfinished();
    const events = this.memory.replayEvents();
    this.replayed = new Set(events.map((event) => event.item.id));
    this.lastReplayed = events.length ? events[events.length - 1].item.id : null;
    for (const event of events) socket.send(event);
    const message = reconnectedMessage(renewing ? this.reason : null, events.length, this.memory.finished(),
      renewing && this.lost);
    const notify = () => s.link.now(UiEvent.NOTICE, { kind: NoticeKind.RECONNECTED, message });
    if (!renewing) {  // a Start after an error: what was said is replayed too, and connect() goes on as usual
      if (events.length) notify();
      return false;
    }
    const wanted = this.startWanted, stopped = s.stopPending;
    this.renewing = this.lost = this.startWanted = s.stopPending = false;
    this.renewals++;
    this.lastGapMs = Math.round(performance.now() - this.reconnectAt);  // old session left → new one set up
    const typed = s.typed.afterConnect();  // typed while reconnecting: after the replay, in order
    if (s.handsFree.on || (wanted && !typed && !stopped)) s.beginTurn();  // a Start while reconnecting: its turn
    else if (wanted && !typed) s.early.drop(), s.tooShort(false), s.setStatus(Status.IDLE);  // Stop came too
    else if (!typed) s.setStatus(Status.IDLE);
    notify();  // after the status: a hint the status change would otherwise clear at once
    return true;
  }

  // The conversation's maximum length was reached: no renewal; the session ends and the page says why.
  end() {
    const s = this.session;
    const minutes = Math.round(this.maxConversationMs / 60_000);
    s.generation++;
    s.teardownConnection();
    this.forget();
    s.setStatus(Status.CLOSED);
    s.link.now(UiEvent.NOTICE, { kind: NoticeKind.CONVERSATION_LIMIT, message: `This conversation reached its `
      + `maximum length (${minutes} minute${minutes === 1 ? '' : 's'}), so it ended. Press Start Speaking to begin a `
      + 'new one: the agent will not remember this one.' });
  }

  snapshot() {
    return { renewals: this.renewals, attempts: this.attempts, due: this.due, renewing: this.renewing,
      remembered: this.memory.size, reason: this.reason, lastGapMs: this.lastGapMs ?? null };
  }
}
