// The Vue component behind voice_ui/realtime_session.py: a thin shell around VoiceSession plus hold-Space-to-talk.
// Start, Stop and Space act here at once (they are user gestures, which audio needs); Python hears of them through
// the `status` event and answers `token_wanted` with provideToken/tokenFailed. No method returns anything.
import { VoiceSession } from 'voice-ui/voice-session.js';

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
  },
  mounted() {
    this.voice = new VoiceSession((name, payload) => this.$emit(name, payload), {
      wsUrl: this.wsUrl, model: this.model, session: JSON.parse(JSON.stringify(this.$props.session || {})), replyTimeoutMs: this.replyTimeoutMs,
      tokenTimeoutMs: this.tokenTimeoutMs,
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
    getStats() {
      return this.voice.getStats();
    },
  },
};
