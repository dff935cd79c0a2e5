// The Vue component behind voice_ui/realtime_session.py: a thin shell around VoiceSession plus hold-Space-to-talk.
// Python calls the methods with run_method; every method resolves (never rejects) so Python never hangs.
import { UiEvent } from 'voice-ui/protocol.js';
import { VoiceSession } from 'voice-ui/voice-session.js';

const TYPING_TAGS = new Set(['INPUT', 'TEXTAREA', 'SELECT']);

function isTyping(target) {
  return !!target && (TYPING_TAGS.has(target.tagName) || target.isContentEditable);
}

export default {
  template: '<div class="voice-ui-session" style="display: none"></div>',
  mounted() {
    this.session = new VoiceSession((name, payload) => this.$emit(name, payload));
    this.spaceHeld = false;
    this.onKeyDown = (event) => {
      if (event.code !== 'Space' || event.repeat || isTyping(event.target)) return;
      event.preventDefault();  // no page scroll, no "click" of a focused button
      if (this.spaceHeld) return;
      this.spaceHeld = true;
      this.session.unlockAudio();  // this keydown is the user gesture
      this.$emit(UiEvent.PUSH_TO_TALK, { pressed: true });
    };
    this.onKeyUp = (event) => {
      if (event.code !== 'Space' || !this.spaceHeld) return;
      event.preventDefault();
      this.spaceHeld = false;
      this.$emit(UiEvent.PUSH_TO_TALK, { pressed: false });
    };
    window.addEventListener('keydown', this.onKeyDown);
    window.addEventListener('keyup', this.onKeyUp);
  },
  unmounted() {
    window.removeEventListener('keydown', this.onKeyDown);
    window.removeEventListener('keyup', this.onKeyUp);
    if (this.session) this.session.close();
  },
  methods: {
    unlockAudio() {
      return this.session.unlockAudio();
    },
    start(token, options) {
      return this.session.start(token, options || {});
    },
    stop() {
      return this.session.stop();
    },
    close() {
      return this.session.close();
    },
    getStats() {
      return this.session.getStats();
    },
  },
};
