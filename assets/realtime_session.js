// The Vue component behind voice_ui/realtime_session.py: a thin shell around VoiceSession plus hold-Space-to-talk.
// Start, Stop and Space act here at once (they are user gestures, which audio needs); Python hears of them through
// the `status` event and answers `token_wanted` with provideToken/tokenFailed. No method returns anything.
import { ConversationRecorder, NO_AUDIO_MESSAGE } from 'voice-ui/audio/recorder.js';
import { audioFilename, saveDownload } from 'voice-ui/audio/wav.js';
import { EventLog } from 'voice-ui/event-log.js';
import { NoticeKind, UiEvent } from 'voice-ui/protocol.js';
import { TurnButtons } from 'voice-ui/press.js';
import { VoiceSession } from 'voice-ui/voice-session.js';
import { sessionSnapshot } from 'voice-ui/session-stats.js';

const TYPING_TAGS = new Set(['INPUT', 'TEXTAREA', 'SELECT']);

// Space belongs to what has focus there: a text field, or any control of a dialog (Settings) or menu.
function isTyping(target) {
  if (!target) return false;
  return TYPING_TAGS.has(target.tagName) || target.isContentEditable || !!(target.closest && target.closest('.q-dialog, .q-menu'));
}

export default {
  template: '<div class="voice-ui-session" style="display: none"></div>',
  props: {
    wsUrl: { type: String, default: null },
    model: { type: String, default: 'gpt-realtime' },
    session: { type: Object, default: () => ({}) },
    replyTimeoutMs: { type: Number, default: 30000 },
    tokenTimeoutMs: { type: Number, default: 15000 },
    turnDetection: { type: Object, default: null },  // hands-free mode's GA turn_detection
    handsFree: { type: Boolean, default: false },    // the Hands-free switch's state when the page opens
    recordAudioSeconds: { type: Number, default: 1800 },  // the audio download's cap (0: no recording)
    renewal: { type: Object, default: () => ({}) },   // {maxConversationMs, replayTurns, replayChars}
    microphone: { type: Object, default: null },     // {deviceId, label} remembered, {meters} the meters' DOM ids
  },
  mounted() {
    this.events = new EventLog();  // the Events drawer's ring buffer (read on demand by event_log)
    const audioNotice = (message) => this.voice.link.now(UiEvent.NOTICE, { kind: NoticeKind.AUDIO_RECORDING, message });
    this.recorder = new ConversationRecorder({ maxSeconds: this.recordAudioSeconds, onNotice: audioNotice });
    this.voice = new VoiceSession((name, payload) => this.$emit(name, payload), {
      eventLog: this.events, recorder: this.recorder,
      wsUrl: this.wsUrl, model: this.model, session: JSON.parse(JSON.stringify(this.$props.session || {})), replyTimeoutMs: this.replyTimeoutMs,
      tokenTimeoutMs: this.tokenTimeoutMs, turnDetection: this.turnDetection ? { ...this.turnDetection } : null,
      renewal: { ...(this.renewal || {}) },
      microphone: this.microphone ? JSON.parse(JSON.stringify(this.microphone)) : null,
    });
    this.voice.handsFree.preset(this.handsFree);
    this.buttons = new TurnButtons(this.voice);  // Start/Stop Speaking act on the mouse's press (press.js)
    this.spaceHeld = false;
    this.onKeyDown = (event) => {
      if (event.code !== 'Space' || isTyping(event.target)) return;
      // Seen first (capture phase): a focused q-btn would otherwise take Space itself and click on its release, so
      // a Start button that has focus (focus follows the turn) would toggle instead of hold-to-talk.
      event.preventDefault();  // no page scroll, no "click" of a focused button
      event.stopPropagation();
      if (event.repeat || this.spaceHeld) return;
      this.spaceHeld = true;
      this.voice.start();
    };
    this.onKeyUp = (event) => {
      if (event.code !== 'Space' || !this.spaceHeld) return;
      event.preventDefault();
      event.stopPropagation();
      this.spaceHeld = false;
      this.voice.stop();
    };
    window.addEventListener('keydown', this.onKeyDown, true);
    window.addEventListener('keyup', this.onKeyUp, true);
  },
  unmounted() {
    window.removeEventListener('keydown', this.onKeyDown, true);
    window.removeEventListener('keyup', this.onKeyUp, true);
    if (this.buttons) this.buttons.dispose();
    if (this.voice) this.voice.dispose();
  },
  methods: {
    start() {
      this.voice.start();
    },
    stop() {
      this.voice.stop();
    },
    // Start/Stop Speaking (RealtimeSession.turn_button): the mouse's press acts, else the click (touch, pen, Enter).
    button_down(button, event) {
      this.buttons.pointerDown(button, event);
    },
    button_click(button, event) {
      this.buttons.click(button, event);
    },
    close() {
      this.voice.close();
      this.recorder.reset();  // Close Session clears the transcript: the audio goes with it
    },
    // "Download audio": the WAV is made and saved here (Blob + object URL); nothing of it goes to Python.
    download_audio() {
      const wav = this.recorder.wav();
      if (wav) saveDownload(wav, audioFilename(), 'audio/wav');
      else this.voice.link.now(UiEvent.NOTICE, { kind: NoticeKind.AUDIO_RECORDING, message: NO_AUDIO_MESSAGE });
    },
    // Typed message (Send, Enter): acts at once, inside the gesture; Python hears of it as a user transcript.
    send_text(text) {
      this.voice.typed.send(text);
    },
    // The Hands-free switch: on = the mic stays open and the server's VAD takes turns.
    set_hands_free(on) {
      this.voice.handsFree.set(on === true);
    },
    // Settings were saved (Python owns them): the next connect's body, what the open session takes now, turns.
    update_session(session, live, turnDetection) {
      this.voice.liveSettings.update(session, live, turnDetection);
    },
    // The Microphone select (by the option's label, inside its gesture) or Python (by device id): switch at once.
    set_microphone(deviceId, label) {
      this.voice.microphone.choose(typeof deviceId === 'string' ? deviceId : null, label);
    },
    // The conversation so far, restored by Python after a reload or failover: the next session is told it too.
    remember_turns(turns) {
      this.voice.renewal.memory.seed(turns);
    },
    provide_token(value, expiresAt) {
      this.voice.tokens.provide(value, expiresAt);
    },
    token_failed(message) {
      this.voice.tokens.failed(message);
    },
    // Client events from Python's tool loop: items at once, a response.create only between turns (tool-calls.js).
    send_events(events) {
      this.voice.toolReplies.send(events);
    },
    // The Events drawer: `live` while it is open (full redacted entries), then the entries it shows.
    event_log(live, filter, after) {
      this.events.live = !!live;
      return this.events.snapshot(typeof filter === 'string' ? filter.slice(0, 100) : '', Number(after) || 0);
    },
    getStats() {
      return sessionSnapshot(this.voice);
    },
  },
};
