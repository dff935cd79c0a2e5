// The page's two level meters (role="meter", value 0-100): the microphone's, from the levels the capture worklet
// posts ~20 times a second, and the agent's, from an AnalyserNode on the player's output (what is really heard).
// Both are drawn once per animation frame straight into the DOM (a CSS variable and aria-valuenow) on the same
// scale: nothing of it ever goes to Python. The loop sleeps while everything rests at zero.
const FLOOR_DB = -60;         // 0 on the meter; 0 dBFS is 100
const STALE_MS = 250;         // no level from the worklet for this long: the microphone is closed
const RELEASE_PER_S = 160;    // the bar rises at once and falls this many points a second (easier to read)
const IDLE_POLL_MS = 250;     // asleep: how often to look whether the agent started to speak
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

  // Returns whether the bar is still moving (or above zero).
  draw(target, dt) {
    this.shown = target >= this.shown ? target : Math.max(target, this.shown - RELEASE_PER_S * dt);
    const element = this.find();
    const value = String(Math.round(this.shown));
    if (element && element.getAttribute('aria-valuenow') !== value) {
      element.setAttribute('aria-valuenow', value);
      element.style.setProperty('--vu-level', (this.shown / 100).toFixed(3));
      this.updates++;
    }
    return this.shown > 0;
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

  wake() {
    if (this.disposed || this.frame !== null) return;
    clearTimeout(this.poll);
    this.poll = null;
    this.frame = requestAnimationFrame((now) => this.tick(now));
  }

  tick(now) {
    this.frame = null;
    const dt = this.last === null ? 0 : Math.min(0.25, (now - this.last) / 1000);
    this.last = now;
    const mic = now - this.micAt <= STALE_MS ? this.micLevel : 0;
    const agent = this.outputLevel();
    const moving = this.microphone.draw(mic, dt) | this.agent.draw(agent, dt);
    if (moving || mic > 0 || agent > 0) return this.wake();
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
    this.frame = this.poll = null;
  }
}
