// The person's settings on the wire. Python owns them (voice_ui/settings.py): the page hands over the session body
// (sent at every connect) and, when Settings is saved, the part a running session takes at once. Turn detection
// goes with the mode the browser is in (hands-free.js).
// The voice is the one setting the API refuses once the model has spoken in a session (`cannot_update_voice`):
// it goes in an update of its own (so a refusal loses nothing else), only while the session has no agent audio;
// otherwise the person is told it applies from the next session, which is sent it at connect.
import {
  ClientEvent, ErrorCode, NoticeKind, ServerEvent, UiEvent, VOICE_NEXT_SESSION_MESSAGE,
} from './protocol.js';
import { eventId } from './commit-gate.js';

const voiceOf = (session) => {
  const voice = session && session.audio && session.audio.output && session.audio.output.voice;
  return typeof voice === 'string' ? voice : null;
};

export class LiveSettings {
  constructor(session) {
    this.session = session;  // the VoiceSession: its options, socket, hands-free mode and link to Python
    this.voice = null;       // the voice the open session has (or was last asked for)
    this.spoken = false;     // the model has produced audio in the open session: its voice is fixed
  }

  // The socket is open: a new session, set up with the whole body (this person's settings and the mode's turns).
  connected(socket) {
    const s = this.session;
    this.spoken = false;
    this.voice = voiceOf(s.options.session);
    socket.send({ type: ClientEvent.SESSION_UPDATE, session: s.handsFree.sessionBody(s.options.session) });
  }

  // Every server event of the current socket, before anything else sees it. True: the event is handled here (the
  // refusal of a voice change, said as a notice instead of an error).
  seen(event) {
    if (event.type === ServerEvent.OUTPUT_AUDIO_DELTA) this.spoken = true;
    else if (event.type === ServerEvent.SESSION_UPDATED) this.voice = voiceOf(event.session) || this.voice;
    else if (event.type === ServerEvent.ERROR && event.error && event.error.code === ErrorCode.CANNOT_UPDATE_VOICE) {
      this.spoken = true;
      this.tell();
      return true;
    }
    return false;
  }

  // Settings were saved: `session` is the next connect's body, `live` what the open session takes now.
  update(session, live, turnDetection) {
    const s = this.session;
    if (session && typeof session === 'object') s.options.session = session;
    if (turnDetection && typeof turnDetection === 'object') s.handsFree.turnDetection = turnDetection;
    const socket = s.socket;
    if (!socket || !socket.isOpen || s.connecting) return;  // connect() sends the new body
    if (live && typeof live === 'object') {
      socket.send({ type: ClientEvent.SESSION_UPDATE, event_id: eventId('settings'), session: s.handsFree.sessionBody(live) });
    }
    const voice = voiceOf(s.options.session);
    if (!voice || voice === this.voice) return;
    if (this.spoken) return this.tell();
    this.voice = voice;
    socket.send({ type: ClientEvent.SESSION_UPDATE, event_id: eventId('voice'),
      session: { type: 'realtime', audio: { output: { voice } } } });
  }

  tell() {
    this.session.link.now(UiEvent.NOTICE, { kind: NoticeKind.VOICE_NEXT_SESSION, message: VOICE_NEXT_SESSION_MESSAGE });
  }
}
