// Start Speaking and Stop Speaking act on the press, not on the click: a click fires on the release, and a person's
// press lasts 80–150 ms, all of it added to every turn. The press of the primary mouse button (pointerdown,
// pointerType 'mouse', button 0) is a user activation in Chromium, Firefox and Safari, so the microphone and the
// AudioContext may start from it. Touch and pen keep acting on `click`: by the HTML spec their pointerdown is not a
// user activation (their release is), so AudioContext.resume may be refused there, and a touch that turns out to be
// a scroll must not open the mic. The keyboard (Enter on a focused button) keeps the click too; Space is
// hold-to-talk (realtime_session.js).
//
// Hold to talk with the mouse, as with Space: a press on Start held at least HOLD_TO_TALK_MS ends the turn on its
// release; a shorter click keeps the toggle (Start … Stop). The release is watched on the whole window (a release
// outside the button, or outside the page, counts), and so are a cancelled pointer, a lost pointer capture and the
// window losing focus: a held turn always ends.
import { Status } from './protocol.js';

// Longer than any click (80–150 ms, 300 ms for a slow one) and shorter than anything said: a press this long is
// held on purpose, and its release ends the turn.
export const HOLD_TO_TALK_MS = 500;

export const TurnButton = Object.freeze({ START: 'start', STOP: 'stop' });

const RELEASES = ['pointerup', 'pointercancel', 'lostpointercapture'];  // on the window, in the capture phase

// A press of the primary mouse button: the one pointer whose pointerdown may start audio.
export function actsOnPress(event) {
  return !!event && event.pointerType === 'mouse' && event.button === 0;
}

function isDisabled(element) {  // a disabled q-btn still gets pointer events in Chromium (not its click)
  return !!element && (element.disabled === true || element.getAttribute?.('aria-disabled') === 'true'
    || !!element.classList?.contains('disabled'));
}

export class TurnButtons {
  constructor(voice, { holdMs = HOLD_TO_TALK_MS, now = () => performance.now(), target = window } = {}) {
    this.voice = voice;   // the VoiceSession: start(), stop(), status, capturing, handsFree
    this.holdMs = holdMs;
    this.now = now;
    this.target = target;  // where releases are watched (the window)
    // The press that acted, per button, until its release's own click has passed: that click is the same gesture.
    this.actedOnPress = { [TurnButton.START]: null, [TurnButton.STOP]: null };
    this.press = null;     // {button, pointerId, at, holds}: the press that acted, not yet released
    this.onRelease = (event) => this.released(event);
    this.onBlur = (event) => { if (event.target === this.target) this.released(event); };
    this.onHidden = () => { if (document.visibilityState === 'hidden') this.released({ type: 'hidden' }); };
  }

  // pointerdown on a turn button.
  pointerDown(button, event) {
    const acts = actsOnPress(event) && !isDisabled(event.currentTarget || event.target);
    this.actedOnPress[button] = null;  // a touch's, a pen's or another button's press leaves the act to the click
    if (!acts) return;
    let holds = false;
    if (button === TurnButton.STOP) {
      this.voice.stop();
    } else {
      const wasBusy = this.busy();
      this.voice.start();
      // Only a press that started the turn may end it: not one during a Space-held turn or a connect under way.
      holds = !wasBusy && this.busy() && !this.voice.handsFree?.on;
    }
    this.watch({ button, pointerId: event.pointerId, at: this.now(), holds });
  }

  // click on a turn button (mouse, touch, pen, or the keyboard's Enter, which has no press).
  click(button, event) {
    const fromPointer = !!event && event.detail > 0;  // a keyboard's click has detail 0
    const acted = this.actedOnPress[button] !== null;
    this.actedOnPress[button] = null;
    if (fromPointer && acted) return;  // the press already acted: the release's click must not act again
    if (button === TurnButton.STOP) this.voice.stop();
    else this.voice.start();
  }

  busy() {
    const v = this.voice;  // a Start during a renewal is waiting for its turn: as busy as a connect
    return v.status === Status.CONNECTING || !!v.capturing || (v.status === Status.RECONNECTING && !!v.renewal?.startWanted);
  }

  watch(press) {
    this.unwatch();
    this.press = this.actedOnPress[press.button] = press;
    for (const type of RELEASES) this.target.addEventListener(type, this.onRelease, true);
    this.target.addEventListener('blur', this.onBlur);  // the window's own blur (an element's does not bubble)
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this.onHidden);
  }

  unwatch() {
    this.press = null;
    for (const type of RELEASES) this.target.removeEventListener(type, this.onRelease, true);
    this.target.removeEventListener('blur', this.onBlur);
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.onHidden);
  }

  // The press ended (released anywhere, cancelled, or the window lost it): a long one on Start ends the turn. A short
  // one is a click: the turn goes on until Stop (a focus loss that early is a permission prompt, or the like).
  released(event) {
    const press = this.press;
    const otherPointer = event.pointerId !== undefined && press && event.pointerId !== press.pointerId;
    if (!press || otherPointer) return;  // e.g. a finger on the touch screen while the mouse holds Start
    this.unwatch();
    if (event.type === 'pointerup') {  // its click comes in this same task; a later one is a new gesture
      setTimeout(() => { if (this.actedOnPress[press.button] === press) this.actedOnPress[press.button] = null; }, 0);
    }  // else the release is still to come, maybe on the button: its click must not act either
    if (press.holds && this.now() - press.at >= this.holdMs) this.voice.stop();  // too short, hands-free: stop()'s
  }

  dispose() {
    this.unwatch();
  }
}
