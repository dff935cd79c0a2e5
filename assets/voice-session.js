// One voice conversation in the browser, and the one owner of the turn state (Python only mirrors `status`):
//   idle/closed/error --start--> connecting --(token, mic, socket)--> listening --stop--> stopping --(committed)-->
//   thinking --(first audio)--> speaking --(played out)--> idle --(tool outputs from Python: ToolReplies)--> thinking
// start()/stop() run inside the user's gesture; every await in connect() is followed by a generation check, so Close
// (or a newer Start) cancels a connect at any point. Audio goes only to the Realtime socket; JSON events to Python.
import {
  COMMIT_STALLED_MESSAGE, ClientEvent, ErrorCode, ErrorSource, MIN_COMMIT_MS, NoticeKind,
  REPLY_STALLED_MESSAGE, SAMPLE_RATE, ServerEvent, Status, TOO_SHORT_MESSAGE, UiEvent,
} from './protocol.js';
import { prepareCapture } from './audio/mic-capture.js';
import { Player } from './audio/player.js';
import { pcm16ToBase64 } from './audio/pcm16.js';
import { CommitGate, eventId } from './commit-gate.js';
import { HandsFree } from './hands-free.js';
import { LiveSettings } from './live-settings.js';
import { Microphone } from './microphone.js';
import { PythonLink } from './python-link.js';
import { ReplyTracker } from './reply.js';
import { errorOf } from './server-events.js';
import { SessionRenewal } from './session-renewal.js';
import { EarlyCapture, connect } from './session-connect.js';
import { SessionStats } from './session-stats.js';
import { TokenHolder } from './token-holder.js';
import { TypedTurns } from './typed-turn.js';
import { TurnLatency } from './turn-latency.js';
import { ToolReplies } from './tool-calls.js';

const samplesToMs = (samples) => (samples * 1000) / SAMPLE_RATE;
// How long Start waits for a suspended context to run before saying the browser kept audio off. A browser that keeps
// it off without a word (QtWebEngine) gets the short wait. Firefox says whether it will play
// (navigator.getAutoplayPolicy) and opens its audio stream only on resume: 0.8–1.7 s on a busy machine, so the
// short wait there failed one Start in four with a false "kept audio off"; when it says "allowed", wait longer.
const RESUME_TIMEOUT_MS = 1500;
const ALLOWED_RESUME_TIMEOUT_MS = 10000;
const quietly = (promise) => { promise.catch(() => {}); return promise; };  // awaited later, or abandoned

function autoplayAllowed(context) {  // only Firefox answers; it throws for anything but a real AudioContext
  try {
    return typeof navigator.getAutoplayPolicy === 'function' && navigator.getAutoplayPolicy(context) === 'allowed';
  } catch {
    return false;
  }
}

export class VoiceSession {
  constructor(emit, { wsUrl = null, model = 'gpt-realtime', session = {}, replyTimeoutMs = 30000, renewal = {},
    tokenTimeoutMs = 15000, turnDetection = null, eventLog = null, microphone = null, recorder = null } = {}) {
    this.options = { wsUrl, model, session, replyTimeoutMs, tokenTimeoutMs, eventLog, recorder };
    this.link = new PythonLink(emit);
    this.tokens = new TokenHolder((reason) => this.link.now(UiEvent.TOKEN_WANTED, { reason }));
    this.stats = new SessionStats();
    this.latency = new TurnLatency(this.link, () => this.player, () => this.turn);
    this.replies = new ReplyTracker({
      player: () => this.player, stats: this.stats, watchdogMs: replyTimeoutMs,
      onAudio: () => { if (this.status === Status.THINKING) this.setStatus(Status.SPEAKING); },
      onFinished: () => { this.latency.replyDone(); this.settle(); },
      onStalled: () => {  // the server may still be producing it: a later response.create would be refused
        if (this.socket) this.socket.send({ type: ClientEvent.RESPONSE_CANCEL });
        this.problem(ErrorSource.RESPONSE, 'stalled', REPLY_STALLED_MESSAGE);
      },
    });
    this.context = this.socket = this.mic = this.player = null;
    this.status = Status.IDLE;
    this.turn = 0;             // id of the newest turn; worklet messages carry it
    this.capturing = false;
    this.generation = 0;       // bumped by close() and each connect: a stale await gives up
    this.stopPending = false;  // Stop came while connecting: end the turn as soon as it begins (too short)
    this.flushingTurn = null;  // Stop came: the worklet is posting this turn's last audio
    this.commits = new CommitGate({
      send: (event) => this.socket && this.socket.send(event),
      onAccepted: (turn) => this.askForReply(turn),
      onRefused: (turn) => { if (!this.newerTurnStarted(turn)) this.settle(); },
      onStalled: () => this.problem(ErrorSource.SERVER, 'commit_timeout', COMMIT_STALLED_MESSAGE),
    });
    this.typed = new TypedTurns(this), this.handsFree = new HandsFree(this, turnDetection), this.liveSettings = new LiveSettings(this);
    this.toolReplies = new ToolReplies(this);  // Python's tool outputs; their response.create only between turns
    this.early = new EarlyCapture(this);       // a cold Start's audio from before the socket was set up
    this.microphone = new Microphone(this, microphone || {});  // device choice and list, fallback, level meters
    this.renewal = new SessionRenewal(this, renewal);  // a new session before the cap or after a drop, history replayed
    this.tokens.prefetch();
    this.unlockAudio();
  }

  // Must run inside a user gesture (click, keydown): browsers only start audio from one. At page load it only
  // creates the (suspended) context and loads the worklets, so that the first Start does not wait for them.
  unlockAudio() {
    if (!this.context || this.context.state === 'closed') {
      this.context = new AudioContext({ latencyHint: 'interactive' });  // device rate: Firefox-safe capture
      quietly(prepareCapture(this.context).then(() => this.ensurePlayer()))
        .catch((error) => console.warn('voice-ui: worklets failed to load', error));
    }
    if (this.context.state === 'suspended') quietly(this.context.resume());
    return true;
  }

  // A connect (a Start's) or a renewal's reconnect is under way: the new session is not set up yet.
  get connecting() {
    return this.status === Status.CONNECTING || this.status === Status.RECONNECTING;
  }

  start() {
    this.unlockAudio();
    this.stats.gesture('start');
    if (this.status === Status.CONNECTING || this.capturing) return;  // double click, a second Space
    if (this.status === Status.RECONNECTING) return this.renewal.wantStart();  // the turn begins once it is up
    this.stopPending = false;
    const connected = !!this.socket && this.socket.isOpen && !!this.mic && this.mic.active;
    if (!connected) return quietly(this.connect(++this.generation));
    if (this.replies.active) quietly(this.replies.interrupt(this.socket));  // talking over the agent stops it
    this.beginTurn();
  }

  connect(generation, renewing = false) {  // assets/session-connect.js; renewing: the conversation goes on
    return connect(this, generation, renewing);
  }

  async audioRunning() {
    if (this.context.state !== 'running') {
      const waitMs = autoplayAllowed(this.context) ? ALLOWED_RESUME_TIMEOUT_MS : RESUME_TIMEOUT_MS;
      await Promise.race([this.context.resume().catch(() => {}), new Promise((ok) => setTimeout(ok, waitMs))]);
    }
    return this.context.state === 'running';
  }

  // The player is made once per context, at page load, so a cold Start does not build it beside getUserMedia.
  ensurePlayer() {
    if (!this.player || this.player.context !== this.context) {
      this.player = new Player(this.context, (counters) => this.replies.drained(counters), this.options.recorder);
      const player = this.player;
      this.playerOpen = player.open().catch((error) => {  // the next connect tries again
        if (this.player === player) this.player = null;
        throw error;
      });
    }
    return this.playerOpen;
  }

  beginTurn() {
    this.capturing = true;
    if (!this.early.begin()) {  // else it began when the microphone opened (a cold Start), and its audio went now
      this.turn++;
      this.stats.startTurn(this.turn);
      this.mic.startTurn(this.turn);
    }
    this.setStatus(this.handsFree.on && this.replies.active ? Status.THINKING : Status.LISTENING);
  }

  onMicChunk(turn, pcm) {
    if (this.early.keep(turn, pcm)) return;  // the socket is not set up yet
    const sent = !!this.socket && this.socket.send({ type: ClientEvent.INPUT_AUDIO_APPEND, audio: pcm16ToBase64(pcm) });
    if (sent) this.stats.sent(turn, pcm.length), this.options.recorder?.sent(turn, pcm, this.stats.current);
    else this.stats.dropped(pcm.length);
  }

  // The capture worklet goes on until the audio of this moment has reached it (the measured input latency), then
  // posts its last partial chunk; only then is the turn committed (or found too short).
  stop() {
    this.stats.gesture('stop');
    if (this.handsFree.streaming) return;  // the server's VAD ends turns (Space and Stop do nothing then)
    if (this.status === Status.CONNECTING || (this.status === Status.RECONNECTING && this.renewal.startWanted)) {
      this.stopPending = true;
      return;
    }
    if (!this.capturing) return;
    this.capturing = false;
    const turn = this.turn;
    const untilTime = this.context.currentTime + this.mic.inputLatency();
    this.stats.stopRequested(turn, this.context.currentTime);
    this.latency.speechEnded(turn, this.stats.gestures.stop);  // the person's Stop is the origin
    this.flushingTurn = turn;
    this.setStatus(Status.STOPPING);
    this.mic.stopTurn(turn, untilTime).then((flushed) => this.onTurnFlushed(turn, flushed));
  }

  newerTurnStarted(turn) {  // then that turn owns the status
    return turn !== this.turn || this.capturing;
  }

  onTurnFlushed(turn, flushed) {
    const record = this.stats.endTurn(turn, flushed);
    if (this.flushingTurn === turn) this.flushingTurn = null;
    if (!this.socket || !this.socket.isOpen) return;  // closed meanwhile: teardown has set the status
    if (samplesToMs(record.samples) < MIN_COMMIT_MS) return this.tooShort(this.newerTurnStarted(turn) === false);
    this.commits.commit(turn);
    this.stats.commitSent(turn);
  }

  // The too-short rule, for every way a turn ends (button, Space, Stop while connecting).
  tooShort(ownsStatus) {
    this.stopPending = false;
    if (this.socket) this.socket.send({ type: ClientEvent.INPUT_AUDIO_CLEAR });
    this.link.now(UiEvent.NOTICE, { kind: NoticeKind.TOO_SHORT, message: TOO_SHORT_MESSAGE });
    if (ownsStatus) this.settle();
  }

  // The commit was confirmed: ask for the reply (unless the person talks on), which answers held tool outputs too.
  askForReply(turn, event = { type: ClientEvent.RESPONSE_CREATE }) {
    if (turn !== null && this.newerTurnStarted(turn)) return;
    this.toolReplies.drop();
    this.pendingCreate = event.event_id = typeof event.event_id === 'string' ? event.event_id : eventId('create');
    this.socket.send(event);
    this.replies.expect();
    this.setStatus(Status.THINKING);
  }

  onServerEvent(socket, event) {
    if (socket !== this.socket || this.liveSettings.seen(event)) return;  // a replaced connection's late frame
    if (this.replies.onEvent(this.latency.seen(event))) return;  // audio: never to Python (latency only times it)
    this.handsFree.onEvent(event);
    if (this.renewal.onEvent(event)) return;  // expiry (renewed, not an error), echoes of the replay
    if (event.type === ServerEvent.INPUT_AUDIO_COMMITTED) this.commits.committed();
    else if (event.type === ServerEvent.ERROR) this.onServerError(errorOf(event));
    this.link.serverEvent(event);
  }

  onServerError(error) {
    const createRefused = !!error.event_id && error.event_id === this.pendingCreate;
    this.link.now(UiEvent.ERROR, { source: ErrorSource.SERVER, code: error.code || '', message: error.message });
    if (this.commits.error(error)) return;
    if ((createRefused || error.code === ErrorCode.ACTIVE_RESPONSE) && this.replies.awaiting) {
      this.replies.reset();
      this.settle();
    }
  }

  // Nothing is in flight any more: the status follows what is still going on.
  settle() {
    if ((this.capturing && !this.handsFree.streaming) || this.connecting || this.status === Status.CLOSED) return;
    if (this.flushingTurn !== null || this.commits.pending) return this.setStatus(Status.STOPPING);
    if (this.replies.response && this.replies.response.audio) return this.setStatus(Status.SPEAKING);
    this.setStatus(this.replies.active ? Status.THINKING : this.handsFree.restingStatus());  // hands-free: idle or not
  }

  // A problem the session survives (the socket stays open): say it, then settle.
  problem(source, code, message) {
    this.link.now(UiEvent.ERROR, { source, code, message });
    this.settle();
  }

  // A problem that ends the connection (and any connect still under way).
  fail(source, code, message) {
    this.generation++;
    this.teardownConnection();
    if (this.renewal.retry(source)) return;  // a renewal attempt failed: the next one is scheduled (bounded)
    this.link.now(UiEvent.ERROR, { source, code, message });
    this.setStatus(Status.ERROR);
  }

  // Mic and in-flight reply go; the AudioContext and player stay so that the next Start is quick.
  teardownConnection() {
    this.capturing = false;
    this.early.reset();
    this.flushingTurn = null;
    this.commits.reset();
    if (this.mic) this.mic.close();
    this.mic = null;
    this.replies.abandon();
    this.link.flush();
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, 'client closed');
  }

  close() {
    this.generation++;
    this.stopPending = false;
    this.typed.reset(), this.renewal.forget();  // a new conversation: nothing queued, nothing to replay
    this.tokens.cancelWaiters('closed');
    this.teardownConnection();
    if (this.player) this.player.close();
    this.player = null;
    if (this.context) quietly(this.context.close());
    this.context = null;
    this.setStatus(Status.CLOSED);
  }

  dispose() {
    this.close();
    this.tokens.dispose(), this.microphone.dispose();  // their timers and listeners
    this.link.close();
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.stats.status(status);
    this.link.now(UiEvent.STATUS, { status, turn: this.turn });
    this.toolReplies.release();
    this.renewal.onStatus();
  }
}
