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
    this.actedOnPress = { [TurnButton.START]: false, [TurnButton.STOP]: false };  // its click is the same gesture
    this.hold = null;      // {pointerId, at}: a press on Start that started a turn, not yet released
    this.onRelease = (event) => this.released(event);
    this.onBlur = (event) => { if (event.target === this.target) this.released(event); };
    this.onHidden = () => { if (document.visibilityState === 'hidden') this.released({ type: 'hidden' }); };
  }

  // pointerdown on a turn button.
  pointerDown(button, event) {
    const acts = actsOnPress(event) && !isDisabled(event.currentTarget || event.target);
    this.actedOnPress[button] = acts;  // a touch's, a pen's or another button's press leaves the act to the click
    if (!acts) return;
    if (button === TurnButton.STOP) return this.voice.stop();
    const wasBusy = this.busy();
    this.voice.start();
    // Only a press that started the turn may end it: not one during a Space-held turn or a connect under way.
    if (!wasBusy && this.busy() && !this.voice.handsFree?.on) this.watch(event.pointerId);
  }

  // click on a turn button (mouse, touch, pen, or the keyboard's Enter, which has no press).
  click(button, event) {
    const fromPointer = !!event && event.detail > 0;  // a keyboard's click has detail 0
    const acted = this.actedOnPress[button];
    this.actedOnPress[button] = false;
    if (fromPointer && acted) return;  // the press already acted: the release's click must not act again
    if (button === TurnButton.STOP) this.voice.stop();
    else this.voice.start();
  }

  busy() {
    return this.voice.status === Status.CONNECTING || !!this.voice.capturing;
  }

  watch(pointerId) {
    this.unwatch();
    this.hold = { pointerId, at: this.now() };
    for (const type of RELEASES) this.target.addEventListener(type, this.onRelease, true);
    this.target.addEventListener('blur', this.onBlur);  // the window's own blur (an element's does not bubble)
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this.onHidden);
  }

  unwatch() {
    this.hold = null;
    for (const type of RELEASES) this.target.removeEventListener(type, this.onRelease, true);
    this.target.removeEventListener('blur', this.onBlur);
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.onHidden);
  }

  // The held press ended (released anywhere, cancelled, or the window lost it): a long one ends the turn. A short
  // one is a click: the turn goes on until Stop (a focus loss that early is a permission prompt, or the like).
  released(event) {
    const hold = this.hold;
    if (!hold) return;
    if (event && event.pointerId !== undefined && hold.pointerId !== undefined && event.pointerId !== hold.pointerId) return;
    const held = this.now() - hold.at >= this.holdMs;
    this.unwatch();
    if (held) this.voice.stop();  // the too-short rule and hands-free are stop()'s
  }

  dispose() {
    this.unwatch();
  }
}
