// The Vue component behind voice_ui/realtime_session.py: a thin shell around VoiceSession plus hold-Space-to-talk.
// Start, Stop and Space act here at once (they are user gestures, which audio needs); Python hears of them through
// the `status` event and answers `token_wanted` with provideToken/tokenFailed. No method returns anything.
import { EventLog } from 'voice-ui/event-log.js';
import { VoiceSession } from 'voice-ui/voice-session.js';
import { sessionSnapshot } from 'voice-ui/session-stats.js';

const TYPING_TAGS = new Set(['INPUT', 'TEXTAREA', 'SELECT']);

function isTyping(target) {
  return !!target && (TYPING_TAGS.has(target.tagName) || target.isContentEditable);
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
    microphone: { type: Object, default: null },     // {deviceId, label} remembered, {meters} the meters' DOM ids
  },
  mounted() {
    this.events = new EventLog();  // the Events drawer's ring buffer (read on demand by event_log)
    this.voice = new VoiceSession((name, payload) => this.$emit(name, payload), {
      eventLog: this.events,
      wsUrl: this.wsUrl, model: this.model, session: JSON.parse(JSON.stringify(this.$props.session || {})), replyTimeoutMs: this.replyTimeoutMs,
      tokenTimeoutMs: this.tokenTimeoutMs, turnDetection: this.turnDetection ? { ...this.turnDetection } : null,
      microphone: this.microphone ? JSON.parse(JSON.stringify(this.microphone)) : null,
    });
    this.spaceHeld = false;
    this.onKeyDown = (event) => {
      if (event.code !== 'Space' || event.repeat || isTyping(event.target)) return;
      event.preventDefault();  // no page scroll, no "click" of a focused button
      if (this.spaceHeld) return;
      this.spaceHeld = true;
      this.voice.start();
    };
    this.onKeyUp = (event) => {
      if (event.code !== 'Space' || !this.spaceHeld) return;
      event.preventDefault();
      this.spaceHeld = false;
      this.voice.stop();
    };
    window.addEventListener('keydown', this.onKeyDown);
    window.addEventListener('keyup', this.onKeyUp);
  },
  unmounted() {
    window.removeEventListener('keydown', this.onKeyDown);
    window.removeEventListener('keyup', this.onKeyUp);
    if (this.voice) this.voice.dispose();
  },
  methods: {
    start() {
      this.voice.start();
    },
    stop() {
      this.voice.stop();
    },
    close() {
      this.voice.close();
    },
    // Typed message (Send, Enter): acts at once, inside the gesture; Python hears of it as a user transcript.
    send_text(text) {
      this.voice.typed.send(text);
    },
    // The Hands-free switch: on = the mic stays open and the server's VAD takes turns.
    set_hands_free(on) {
      this.voice.handsFree.set(on === true);
    },
    // The Microphone select (by the option's label, inside its gesture) or Python (by device id): switch at once.
    set_microphone(deviceId, label) {
      this.voice.microphone.choose(typeof deviceId === 'string' ? deviceId : null, label);
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
