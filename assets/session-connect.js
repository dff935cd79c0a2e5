// Connecting a VoiceSession: the one slow step of a cold Start. Microphone, token, socket (as soon as the token is
// there), audio context and player all at once, the microphone first: getUserMedia is the slowest and only a gesture
// may ask for it (the worklets and the capture node were made at page load). The turn's capture begins the moment
// the microphone is open; what it captures before the socket is set up waits in EarlyCapture and goes right after
// session.update (never before it: until then the server's default VAD would take turns itself), so someone who
// talks at once loses nothing and the first append leaves as soon as the socket can take it.
// "Listening" is shown only once the microphone's sound really flows: Firefox's audio clock can stand still for ~2 s
// after the first getUserMedia, and speech begun at a premature "Listening" lost its first words. The audio captured
// so far does not wait for that: it is sent as soon as the session is set up.
// Every await is followed by a generation check: Close (or a newer Start) cancels a connect at any point.
import { AUDIO_BLOCKED_MESSAGE, ClientEvent, ErrorSource, MIC_SILENT_CODE, MIC_SILENT_MESSAGE, Status } from './protocol.js';
import { RealtimeSocket, sameOriginUrl } from './realtime-socket.js';

const MAX_EARLY_CHUNKS = 750;  // 30 s of audio: a connect that takes longer has failed on its token timeout
const MIC_FLOW_TIMEOUT_MS = 8000;  // a microphone that sends nothing for this long is broken (or held by the system)
const quietly = (promise) => { promise.catch(() => {}); return promise; };  // awaited later, or abandoned

export async function connect(s, generation, renewing = false) {  // renewing: a new session, no new turn
  const stale = () => generation !== s.generation;
  s.teardownConnection();
  s.setStatus(renewing ? Status.RECONNECTING : Status.CONNECTING);
  const mic = s.mic = s.microphone.capture(s.context, (turn, pcm) => s.onMicChunk(turn, pcm));
  const micOpen = quietly(mic.open());
  quietly(micOpen.then(() => { if (!stale() && s.mic === mic && (renewing ? s.renewal.startWanted : s.status === Status.CONNECTING)) s.early.arm(); }));
  const token = quietly(s.tokens.take(s.options.tokenTimeoutMs));
  const socket = new RealtimeSocket({ onEvent: (event) => s.onServerEvent(socket, event),
    onClose: (info) => s.renewal.socketClosed(socket, info), log: s.options.eventLog });
  const opened = quietly(token.then((value) => {
    if (stale()) throw { code: 'stale' };
    s.socket = socket;
    s.stats.startSession();
    return socket.open(s.options.wsUrl || sameOriginUrl(), s.options.model, value);
  }));
  const running = quietly(s.audioRunning());
  const playerReady = quietly(s.ensurePlayer());
  if (!(await running)) return stale() || s.fail(ErrorSource.AUDIO, 'suspended', AUDIO_BLOCKED_MESSAGE);
  if (stale()) return;
  try {
    await token;
  } catch (error) {  // {code: 'timeout' | 'mint_failed' | 'closed', message}
    return stale() || s.fail(ErrorSource.TOKEN, error.code, error.message);
  }
  try {
    await micOpen;
  } catch (error) {
    return stale() || s.fail(ErrorSource.MICROPHONE, (error && error.name) || 'Error', (error && error.message) || String(error));
  }
  if (stale()) return;
  try {
    await opened;
    await playerReady;
  } catch (info) {
    return stale() || s.fail(ErrorSource.SOCKET, String(info.code), info.reason || 'Could not connect to the Realtime server.');
  }
  if (stale() || !socket.isOpen) return;
  s.liveSettings.connected(socket);  // session.update: the person's settings, turns of the current mode
  if (s.renewal.resume(socket, renewing)) return s.early.drop();  // the conversation so far replayed; settled there
  if (s.typed.afterConnect() && !s.handsFree.on) return s.early.drop();  // typed first: no push-to-talk turn
  if (!s.stopPending) s.early.release();  // the turn's audio so far goes now, the rest as it comes
  const flowing = await mic.flowing(MIC_FLOW_TIMEOUT_MS);
  if (stale() || s.mic !== mic || !socket.isOpen) return;  // closed meanwhile: whoever closed it set the status
  if (!flowing) return s.fail(ErrorSource.MICROPHONE, MIC_SILENT_CODE, MIC_SILENT_MESSAGE);
  if (s.typed.afterConnect() && !s.handsFree.on) return s.early.drop();  // typed while the microphone woke up
  if (!s.stopPending) return s.beginTurn();
  s.early.drop();
  s.tooShort(false);
  s.setStatus(Status.IDLE);
}

// The turn captured while connecting: its chunks wait here until beginTurn() sends them, first.
export class EarlyCapture {
  constructor(session) {
    this.session = session;
    this.turn = null;       // the armed turn
    this.chunks = [];
    this.dropped = null;    // a turn given up before it began: its last chunks (the worklet's flush) go nowhere
    this.released = false;  // its chunks go to the socket as they come (the session is set up): see connect()
    this.sent = false;      // some did
  }

  arm() {
    const s = this.session;
    this.turn = ++s.turn;
    this.chunks = [];
    s.stats.startTurn(this.turn);
    s.mic.startTurn(this.turn);
  }

  // True if the chunk belongs here (kept for later, or of a dropped turn) rather than on the socket now.
  keep(turn, pcm) {
    if (turn === this.dropped) return true;
    if (turn !== this.turn) return false;
    if (this.released) {  // to the socket
      this.sent = true;
      return false;
    }
    if (this.chunks.length < MAX_EARLY_CHUNKS) this.chunks.push(pcm);
    else this.session.stats.dropped(pcm.length);
    return true;
  }

  // The session is set up: the chunks held so far are sent now, in order, and later ones as they come.
  release() {
    if (this.turn === null || this.released) return;
    const chunks = this.chunks;
    this.released = true;
    this.chunks = [];
    chunks.forEach((pcm) => this.session.onMicChunk(this.turn, pcm));
  }

  // The armed turn begins: true if there was one (its chunks are sent now, in order).
  begin() {
    const turn = this.turn;
    if (turn === null) return false;
    const chunks = this.chunks;
    this.reset();
    chunks.forEach((pcm) => this.session.onMicChunk(turn, pcm));
    return true;
  }

  drop() {
    const s = this.session;
    if (this.turn === null) return;
    const sent = this.sent;  // then the server holds some of it: cleared once the worklet has flushed
    this.dropped = this.turn;
    this.reset();
    if (!s.mic) return;
    const socket = s.socket;
    s.mic.stopTurn(this.dropped, s.context.currentTime).then(() => {
      if (sent && socket === s.socket && socket.isOpen) socket.send({ type: ClientEvent.INPUT_AUDIO_CLEAR });
    });
  }

  reset() {
    this.turn = null;
    this.chunks = [];
    this.released = this.sent = false;
  }
}
