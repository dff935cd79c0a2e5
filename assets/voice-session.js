// One voice conversation in the browser: one AudioContext, one Realtime socket, the mic and the player.
// Turn flow: start() -> listening (mic streams appends) -> stop() -> commit + response.create -> thinking
// -> first reply audio -> speaking -> the player has really drained -> idle. Audio never leaves this tab except
// to the Realtime socket; `emit` sends only small JSON events to Python.
import {
  AUDIO_BLOCKED_MESSAGE, ClientEvent, ErrorCode, MIN_COMMIT_MS, ResponseStatus, SAMPLE_RATE, ServerEvent, Status, TOO_SHORT_MESSAGE, UiEvent,
} from './protocol.js';
import { MicCapture } from './audio/mic-capture.js';
import { Player } from './audio/player.js';
import { base64ToPcm16, pcm16ToBase64 } from './audio/pcm16.js';
import { loadWorklets } from './audio/worklets.js';
import { interruptReply } from './barge-in.js';
import { RealtimeSocket, sameOriginUrl } from './realtime-socket.js';
import { SessionStats, withoutAudio } from './session-stats.js';

const samplesToMs = (samples) => (samples * 1000) / SAMPLE_RATE;
const RESUME_TIMEOUT_MS = 1500;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class VoiceSession {
  constructor(emit) {
    this.emit = emit;            // (name, payload) => void
    this.context = null;
    this.socket = null;
    this.mic = null;
    this.player = null;
    this.capturing = false;
    this.response = null;        // {id, itemId, audio, ended, done, frames} of the reply being received or played
    this.interrupted = new Set();  // ids of replies cut off by barge-in: their late deltas are dropped
    this.status = Status.IDLE;
    this.stats = new SessionStats();
  }

  // Must run synchronously inside a user gesture (click, keydown): browsers only start audio from one.
  unlockAudio() {
    if (!this.context || this.context.state === 'closed') {
      this.context = new AudioContext({ latencyHint: 'interactive' });  // device rate: Firefox-safe capture
      loadWorklets(this.context).catch((error) => console.warn('voice-ui: worklets failed to load', error));
    }
    if (this.context.state === 'suspended') this.context.resume().catch(() => {});
    return true;
  }

  async start(token, { wsUrl = null, model, session } = {}) {
    try {
      if (this.capturing) return { ok: true };
      if (this.socket && this.socket.isOpen && this.mic && this.mic.active) {
        if (this.response) await this.interrupt();  // talking over the agent stops it
        return this.beginTurn();
      }
      return await this.connect(token, wsUrl || sameOriginUrl(), model, session);
    } catch (error) {
      console.error('voice-ui: start failed', error);
      this.setStatus(Status.ERROR);
      return { ok: false, error: String((error && error.message) || error) };
    }
  }

  async connect(token, url, model, session) {
    this.teardownConnection();
    this.setStatus(Status.CONNECTING);
    this.unlockAudio();
    if (!(await this.audioRunning())) {  // started without a user gesture: worklets would never run
      this.setStatus(Status.ERROR);
      return { ok: false, error: AUDIO_BLOCKED_MESSAGE };
    }
    await this.ensurePlayer();
    const socket = new RealtimeSocket({
      onEvent: (event) => this.onServerEvent(event),
      onClose: (info) => this.onSocketClosed(socket, info),
    });
    this.socket = socket;
    this.stats.startSession();
    try {
      await socket.open(url, model, token);
    } catch (info) {
      return { ok: false, error: `Could not connect to the Realtime server (close code ${info.code}).` };
    }
    socket.send({ type: ClientEvent.SESSION_UPDATE, session });
    const mic = new MicCapture(this.context, (pcm) => this.onMicChunk(pcm));
    this.mic = mic;
    try {
      await mic.open();
    } catch (error) {
      mic.close();
      if (this.mic !== mic) return { ok: false, error: 'The session closed while the microphone was starting.' };
      this.mic = null;
      const name = (error && error.name) || 'Error';
      const message = (error && error.message) || String(error);
      this.emit(UiEvent.MIC_ERROR, { name, message });
      this.socket = null;
      socket.close(1000, 'microphone unavailable');
      this.setStatus(Status.ERROR);
      return { ok: false, error: `Microphone unavailable: ${name}: ${message}` };
    }
    if (this.mic !== mic || this.socket !== socket || !socket.isOpen) {
      if (this.mic !== mic) mic.close();
      return { ok: false, error: 'The connection closed while the microphone was starting.' };
    }
    return this.beginTurn();
  }

  async audioRunning() {
    if (this.context.state !== 'running') {
      await Promise.race([this.context.resume().catch(() => {}), sleep(RESUME_TIMEOUT_MS)]);
    }
    return this.context.state === 'running';
  }

  async ensurePlayer() {
    if (this.player && this.player.context === this.context) return;
    this.player = new Player(this.context, (counters) => this.onDrained(counters));
    await this.player.open();
  }

  beginTurn() {
    this.stats.startTurn();
    this.capturing = true;
    this.mic.startTurn();
    this.setStatus(Status.LISTENING);
    return { ok: true };
  }

  onMicChunk(pcm) {
    if (!this.socket || !this.socket.send({ type: ClientEvent.INPUT_AUDIO_APPEND, audio: pcm16ToBase64(pcm) })) {
      this.stats.dropped(pcm.length);
      return;
    }
    this.stats.sent(pcm.length);
  }

  // Flush first (the worklet answers after posting its partial chunk), then commit or report a too-short turn.
  async stop() {
    try {
      if (!this.capturing || !this.mic) return { committed: false, ms: 0, error: 'not listening' };
      this.capturing = false;
      this.stats.stopRequested();
      const flushed = await this.mic.stopTurn();
      const turn = this.stats.endTurn(flushed);
      const ms = samplesToMs(turn.samples);
      if (!this.socket || !this.socket.isOpen) return { committed: false, ms, error: 'connection closed' };
      if (ms >= MIN_COMMIT_MS) {
        this.socket.send({ type: ClientEvent.INPUT_AUDIO_COMMIT, event_id: this.eventId('commit') });
        this.pendingCreate = this.eventId('create');  // errors echo it: then no response will come
        this.socket.send({ type: ClientEvent.RESPONSE_CREATE, event_id: this.pendingCreate });
        this.setStatus(Status.THINKING);
        return { committed: true, ms };
      }
      this.socket.send({ type: ClientEvent.INPUT_AUDIO_CLEAR });
      this.emit(UiEvent.NOTICE, { kind: 'too_short', message: TOO_SHORT_MESSAGE });
      this.setStatus(this.response ? Status.SPEAKING : Status.IDLE);
      return { committed: false, ms };
    } catch (error) {
      console.error('voice-ui: stop failed', error);
      return { committed: false, ms: 0, error: String((error && error.message) || error) };
    }
  }

  onServerEvent(event) {
    switch (event.type) {
      case ServerEvent.OUTPUT_AUDIO_DELTA:
        this.onAudioDelta(event);
        return;  // audio never goes to Python
      case ServerEvent.RESPONSE_CREATED:
        this.beginResponse(event.response && event.response.id);
        break;
      case ServerEvent.OUTPUT_AUDIO_DONE:
        this.endResponseAudio(event.response_id);
        break;
      case ServerEvent.RESPONSE_DONE:
        this.onResponseDone(event.response || {});
        break;
      case ServerEvent.ERROR:
        this.onServerError(event.error || {});
        break;
    }
    this.emit(UiEvent.REALTIME_EVENT, withoutAudio(event));
  }

  beginResponse(id) {
    if (this.response && this.response.id === id) return;
    this.pendingCreate = null;
    this.response = { id, itemId: null, audio: false, ended: false, done: false, frames: 0 };
    this.player.begin(id);
  }

  async interrupt() {
    const reply = this.response;
    this.interrupted.add(reply.id);
    await interruptReply(reply, this.player, this.socket);
  }

  onAudioDelta(event) {
    if (this.interrupted.has(event.response_id)) return;
    if (!this.response || this.response.id !== event.response_id) this.beginResponse(event.response_id);
    this.response.itemId = event.item_id;
    const pcm = base64ToPcm16(event.delta || '');
    this.stats.received(pcm.length);
    this.response.frames += pcm.length;
    this.player.push(pcm);
    if (!this.response.audio) {
      this.response.audio = true;
      if (!this.capturing) this.setStatus(Status.SPEAKING);
    }
  }

  endResponseAudio(id) {
    if (!this.response || this.response.ended || (id && this.response.id !== id)) return;
    this.response.ended = true;
    this.player.end();
  }

  onResponseDone(response) {
    if (!this.response || (response.id && this.response.id !== response.id)) {
      if (this.status === Status.THINKING) this.setStatus(Status.IDLE);  // nothing of it ever reached us
      return;
    }
    this.response.done = true;
    if (response.status === ResponseStatus.FAILED || response.status === ResponseStatus.CANCELLED) {
      this.player.flush();
    } else {
      this.endResponseAudio(response.id);
    }
  }

  // Errors are forwarded; a rejected commit or response.create must not leave the page stuck in "thinking".
  onServerError(error) {
    const createRejected = !!error.event_id && error.event_id === this.pendingCreate;
    const rejectedTurn = createRejected || error.code === ErrorCode.COMMIT_EMPTY || error.code === ErrorCode.ACTIVE_RESPONSE;
    if (rejectedTurn && this.status === Status.THINKING && !this.response) this.setStatus(Status.IDLE);
  }

  eventId(kind) {
    this.eventCounter = (this.eventCounter || 0) + 1;
    return `event_vu_${kind}_${Date.now().toString(36)}_${this.eventCounter}`;
  }

  onDrained(counters) {
    const response = this.response;
    if (!response || (!counters.flushed && counters.responseId !== response.id)) return;
    this.response = null;
    const playback = { frames_played: counters.framesPlayed, underruns: counters.underruns, response_id: response.id };
    this.stats.played(playback, counters, response.frames);
    this.emit(UiEvent.PLAYBACK, playback);
    if (this.status === Status.SPEAKING || this.status === Status.THINKING) this.setStatus(Status.IDLE);
  }

  onSocketClosed(socket, info) {
    this.emit(UiEvent.SOCKET_CLOSED, { code: info.code, reason: info.reason, was_clean: info.was_clean });
    if (socket !== this.socket) return;  // an older connection, already replaced or closed by us
    this.socket = null;
    this.teardownConnection();
    this.setStatus(Status.ERROR);
  }

  // Mic and in-flight reply go; the AudioContext and player stay so that the next Start is quick.
  teardownConnection() {
    this.capturing = false;
    if (this.mic) this.mic.close();
    this.mic = null;
    if (this.player && this.response) this.player.flush();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, 'client closed');
    }
  }

  close() {
    this.teardownConnection();
    if (this.player) this.player.close();
    this.player = null;
    this.response = null;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
    this.setStatus(Status.CLOSED);
    return true;
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.stats.status(status);
    this.emit(UiEvent.STATUS, { status });
  }

  getStats() {
    return this.stats.snapshot({
      status: this.status,
      socketState: this.socket ? this.socket.state : 'closed',
      micActive: !!this.mic && this.mic.active,
      capturing: this.capturing,
      contextRate: this.context ? this.context.sampleRate : null,
      contextState: this.context ? this.context.state : 'closed',
      player: this.player ? { ...this.player.counters } : null,
    });
  }
}
