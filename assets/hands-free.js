// Hands-free: the mic stays open and the server's VAD decides where turns start and end. The turn state machine
// keeps its states; only the events that move it change (see voice_ui/realtime_session.py):
//   speech_started → listening (and barge-in if the agent talks)   speech_stopped → stopping
//   committed → thinking (the server creates the reply itself)       reply played out → listening again
// The audio streams as one long capture "turn" of the worklet; the server cuts it into conversation turns.
// Echo: the mic is opened with echoCancellation (MIC_CONSTRAINTS), so the agent's own voice is not heard as speech.
import { ClientEvent, ServerEvent, Status, TurnDetection } from './protocol.js';

// The capture ends without a commit (a typed message, hands-free off); its audio leaves the server's buffer too.
export function dropCapture(s) {
  if (!s.capturing) return;
  s.capturing = false;
  s.mic.stopTurn(s.turn, s.context.currentTime)
    .then(() => s.socket && s.socket.send({ type: ClientEvent.INPUT_AUDIO_CLEAR }));
}

export const DEFAULT_TURN_DETECTION = Object.freeze({ type: TurnDetection.SERVER_VAD });

export class HandsFree {
  constructor(session, turnDetection = null) {
    this.session = session;  // the VoiceSession
    this.turnDetection = turnDetection && typeof turnDetection === 'object' ? turnDetection : DEFAULT_TURN_DETECTION;
    this.on = false;
    this.turns = 0;          // speech turns the server's VAD found
    this.phase = 'waiting';  // waiting | speech (speech_started seen) | committing (speech_stopped, no commit yet)
  }

  // True while the mic streams continuously for the server's VAD.
  get streaming() {
    return this.on && this.session.capturing;
  }

  // The page opens with the switch on (the person's default): the next Start streams; nothing opens before it.
  preset(on) {
    if (!this.session.socket) this.on = !!on;
  }

  // The switch (a user gesture): on opens the session (or retunes the open one), off returns to push-to-talk.
  set(on) {
    const s = this.session;
    s.unlockAudio();
    if (on === this.on) return;
    this.on = !!on;
    this.phase = 'waiting';
    const connected = !!s.socket && s.socket.isOpen && !!s.mic && s.mic.active;
    if (this.on) {
      if (!connected) return s.start();
      s.socket.send(this.sessionUpdate());
      if (!s.capturing) s.beginTurn();
      return;
    }
    if (connected) s.socket.send(this.sessionUpdate());
    if (s.capturing) {
      dropCapture(s);  // the open stream ends; what was not committed is cleared
      s.settle();
    }
  }

  // The turn_detection part of session.update for the current mode (null: manual turns).
  sessionUpdate() {
    return { type: ClientEvent.SESSION_UPDATE,
      session: { type: 'realtime', audio: { input: { turn_detection: this.on ? { ...this.turnDetection } : null } } } };
  }

  // The session body sent on connect, with this mode's turn detection.
  sessionBody(base) {
    const audio = base.audio || {};
    return { ...base, audio: { ...audio, input: { ...(audio.input || {}),
      turn_detection: this.on ? { ...this.turnDetection } : null } } };
  }

  // A server event, before the session's own handling. Only VAD events move the status here.
  onEvent(event) {
    const s = this.session;
    if (!this.streaming) return;
    if (event.type === ServerEvent.SPEECH_STARTED) {
      this.phase = 'speech';
      if (s.replies.active) s.replies.interrupt(s.socket).catch(() => {});  // barge-in: stop at once, truncate
      this.turns++;
      s.setStatus(Status.LISTENING);
    } else if (event.type === ServerEvent.SPEECH_STOPPED) {
      this.phase = 'committing';
      s.setStatus(Status.STOPPING);
    } else if (event.type === ServerEvent.INPUT_AUDIO_COMMITTED) {
      this.phase = 'waiting';
      s.replies.expect();  // the server creates the reply; the watchdog guards it
      s.setStatus(Status.THINKING);
    }
  }

  // What the status is between replies: idle, unless the mic streams for the server's VAD.
  restingStatus() {
    if (!this.streaming) return Status.IDLE;
    return this.phase === 'committing' ? Status.STOPPING : Status.LISTENING;
  }
}
