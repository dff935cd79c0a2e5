// The page's two level meters (role="meter", value 0-100): the microphone's, from the levels the capture worklet
// posts ~20 times a second, and the agent's, from an AnalyserNode on the player's output (what is really heard).
// Both are drawn in requestAnimationFrame straight into the DOM (a CSS variable and aria-valuenow), on the same
// scale, ~20 times a second: nothing of it ever goes to Python. The loop sleeps while both rest at zero.
const FLOOR_DB = -60;         // 0 on the meter; 0 dBFS is 100
const STALE_MS = 250;         // no level from the worklet for this long: the microphone is closed
const RELEASE_PER_S = 160;    // the bar rises at once and falls this many points a second (easier to read)
const IDLE_POLL_MS = 250;     // asleep: how often to look whether the agent started to speak
const DRAW_EVERY_MS = 50;     // ~20 frames a second, the rate of the worklet's levels (a frame at every vsync
                              // would keep the page's rendering busy: ~10 % of a core in headless Chromium)
const ANALYSER_SIZE = 1024;

// The meter value (0-100) of an RMS amplitude (1 = full scale): dBFS from FLOOR_DB up, linearly.
export function levelPercent(rms) {
  if (!(rms > 0)) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(100, ((db - FLOOR_DB) / -FLOOR_DB) * 100));
}

class Meter {
  constructor(elementId) {
    this.elementId = elementId;  // () => the DOM id NiceGUI gave the meter (or null)
    this.element = null;
    this.shown = 0;
    this.updates = 0;            // DOM writes, for tests (and to prove the meter moved)
  }

  // The bar's next value; returns whether the page must be redrawn for it (a steady level costs no frame).
  step(target, dt) {
    this.shown = target >= this.shown ? target : Math.max(target, this.shown - RELEASE_PER_S * dt);
    const element = this.find();
    return !!element && element.getAttribute('aria-valuenow') !== String(Math.round(this.shown));
  }

  draw() {
    const element = this.find();
    const value = String(Math.round(this.shown));
    if (!element || element.getAttribute('aria-valuenow') === value) return;
    element.setAttribute('aria-valuenow', value);
    element.style.setProperty('--vu-level', (this.shown / 100).toFixed(3));
    this.updates++;
  }

  find() {
    if (this.element && this.element.isConnected) return this.element;
    const id = this.elementId();
    this.element = id ? document.getElementById(id) : null;
    return this.element;
  }
}

export class LevelMeters {
  // ids: () => ({microphone, agent}) DOM ids; player: () => the session's Player (or null)
  constructor(ids, player) {
    this.player = player;
    this.microphone = new Meter(() => (ids() || {}).microphone);
    this.agent = new Meter(() => (ids() || {}).agent);
    this.micLevel = 0;
    this.micAt = -Infinity;
    this.tapped = null;     // the player node the analyser listens to
    this.analyser = null;
    this.samples = new Float32Array(ANALYSER_SIZE);
    this.frame = null;
    this.timer = null;
    this.poll = null;
    this.last = null;
    this.disposed = false;
    this.wake();
  }

  // A level message of the capture worklet: {rms, peak}.
  input(level) {
    this.micLevel = levelPercent(level && level.rms);
    this.micAt = performance.now();
    this.wake();
  }

  // The next step in DRAW_EVERY_MS: a timer paces the levels, and only a changed value asks for an animation frame
  // (requestAnimationFrame: drawn with the page's next paint, and never while the tab is hidden).
  wake() {
    if (this.disposed || this.timer !== null) return;
    clearTimeout(this.poll);
    this.poll = null;
    this.timer = setTimeout(() => this.tick(performance.now()), DRAW_EVERY_MS);
  }

  tick(now) {
    this.timer = null;
    const dt = this.last === null ? 0 : Math.min(0.25, (now - this.last) / 1000);
    this.last = now;
    const mic = now - this.micAt <= STALE_MS ? this.micLevel : 0;
    const agent = this.outputLevel();
    const changed = this.microphone.step(mic, dt) | this.agent.step(agent, dt);
    if (changed && this.frame === null) {
      this.frame = requestAnimationFrame(() => {
        this.frame = null;
        this.microphone.draw();
        this.agent.draw();
      });
    }
    if (this.microphone.shown > 0 || this.agent.shown > 0 || mic > 0 || agent > 0) return this.wake();
    this.last = null;
    this.sleep();
  }

  sleep() {
    this.poll = setTimeout(() => {
      this.poll = null;
      if (this.outputLevel() > 0) this.wake();
      else if (!this.disposed) this.sleep();
    }, IDLE_POLL_MS);
  }

  // What the player sends to the speakers now (0 when it is not playing).
  outputLevel() {
    const player = this.player();
    const node = player && player.node;
    if (!node || !player.counters.playing) return 0;
    if (this.tapped !== node) {
      this.analyser = node.context.createAnalyser();
      this.analyser.fftSize = ANALYSER_SIZE;
      node.connect(this.analyser);  // an extra output connection: what the speakers get is unchanged
      this.tapped = node;
    }
    this.analyser.getFloatTimeDomainData(this.samples);
    let squares = 0;
    for (let i = 0; i < this.samples.length; i++) squares += this.samples[i] * this.samples[i];
    return levelPercent(Math.sqrt(squares / this.samples.length));
  }

  snapshot() {
    return { microphone: Math.round(this.microphone.shown), agent: Math.round(this.agent.shown),
      microphoneUpdates: this.microphone.updates, agentUpdates: this.agent.updates };
  }

  dispose() {
    this.disposed = true;
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    clearTimeout(this.poll);
    clearTimeout(this.timer);
    this.frame = this.poll = this.timer = null;
  }
}
