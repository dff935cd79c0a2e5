// The microphone of one VoiceSession: which input device (the person's choice; Python remembers it and passes it
// in), the device list for the page's Microphone select, the fallback to the system default, and the level meters.
// Switching (the select acts here, inside its gesture): the open capture moves to the new device at once, on the
// same Realtime socket; a turn in progress goes on with the new device's sound (see audio/mic-capture.js).
// A chosen device that is missing (at open, in the list, or unplugged mid-session) gives way to the system default
// with one notice; when it is back the capture returns to it.
import { ErrorSource, NoticeKind, UiEvent } from './protocol.js';
import { MicCapture } from './audio/mic-capture.js';
import { LevelMeters } from './level-meter.js';
import { MicDevices } from './mic-devices.js';

const text = (value, limit = 256) => (typeof value === 'string' ? value.slice(0, limit) : '');
const quote = (label) => `“${label}”`;
const RELIST_DELAY_MS = 300;  // after a stream opened: see opened()

export class Microphone {
  constructor(session, { deviceId = '', label = '', meters = null } = {}) {
    this.session = session;
    this.choice = { deviceId: text(deviceId), label: text(label) };  // '' = the system default
    this.announced = null;  // the choice whose absence was said (once, until it is back or another is chosen)
    this.reported = null;
    this.devices = new MicDevices((list, labelled) => this.listed(labelled));
    this.meters = new LevelMeters(() => meters, () => session.player);
  }

  // The capture for a connect, on the chosen device (or the one with its label, when the browser issued new ids).
  capture(context, onChunk) {
    return new MicCapture(context, onChunk, { deviceId: this.wantedId(),
      onLevel: (level) => this.meters.input(level), onDevice: (info) => this.opened(info) });
  }

  wantedId() {
    const device = this.devices.find(this.choice);
    return device ? device.deviceId : this.choice.deviceId;  // not listed (no permission yet): asked for as it is
  }

  get mic() {
    const mic = this.session.mic;
    return mic && !mic.closed ? mic : null;
  }

  // The select's choice (a gesture: by its label) or Python's (by device id): used from now on, at once.
  choose(deviceId, label) {
    const device = typeof deviceId === 'string' ? this.devices.byId(deviceId) : this.devices.byLabel(text(label));
    if (!device) return false;
    this.choice = { deviceId: device.deviceId, label: device.label };
    this.announced = null;
    if (this.mic) this.mic.useDevice(device.deviceId).catch((error) => this.failed(error));
    return true;
  }

  // The capture opened a stream (at connect, after a switch, after a loss): say what happened, then list again
  // (the names appear after the first permission) and tell the select which device is in use.
  opened(info) {
    if (info.failed) return this.failed(info.failed);
    const key = this.choice.deviceId;
    if (info.lost) {
      this.notice(`${quote(info.lost)} was disconnected — using the system default microphone.`);
      this.announced = key || null;
    } else if (info.error) {
      this.missing(info.error.name);
    } else if (key && info.opened === key && this.announced === key) {
      this.announced = null;
      this.notice(`Using ${quote(this.choice.label || info.label)} again.`);
    }
    // Listed a moment later: enumerateDevices beside a cold Start's socket setup would delay its first append.
    setTimeout(() => this.devices.refresh().then(() => this.report()), RELIST_DELAY_MS);
  }

  // A new device list (at load, after permission, on devicechange).
  listed(labelled) {
    if (!labelled) return;  // no names yet: the select keeps what it shows (the choice is still tried at open)
    const device = this.devices.find(this.choice);
    const mic = this.mic;
    if (!device) this.missing('NotFoundError');
    else if (mic && mic.openedId !== null && mic.openedId !== device.deviceId) {
      mic.useDevice(device.deviceId).catch((error) => this.failed(error));  // it is back (or got a new id)
    }
    this.report();
  }

  missing(reason) {
    const key = this.choice.deviceId;
    if (!key || this.announced === key) return;
    this.announced = key;
    const name = this.choice.label ? `Microphone ${quote(this.choice.label)}` : 'The chosen microphone';
    const why = reason === 'NotReadableError' ? 'cannot be opened (in use?)' : 'is not connected';
    this.notice(`${name} ${why} — using the system default microphone.`);
  }

  // The list and the device in use (or to be used at the next Start) for the select; only when it changed.
  report() {
    if (!this.devices.labelled) return;
    const mic = this.mic;
    const listed = this.devices.find(this.choice);
    const selected = mic && mic.openedId !== null ? mic.openedId : (listed ? listed.deviceId : '');
    const payload = { devices: this.devices.list.map((d) => ({ device_id: d.deviceId, label: d.label })), selected };
    const key = JSON.stringify(payload);
    if (key === this.reported) return;
    this.reported = key;
    this.session.link.now(UiEvent.DEVICES, payload);
  }

  notice(message) {
    this.session.link.now(UiEvent.NOTICE, { kind: NoticeKind.MICROPHONE, message });
  }

  failed(error) {
    const name = (error && error.name) || 'Error';
    this.session.problem(ErrorSource.MICROPHONE, name, `The microphone could not be switched: ${(error && error.message) || name}`);
  }

  snapshot() {
    const mic = this.mic;
    return { choice: { ...this.choice }, wanted: this.wantedId(), openedId: mic ? mic.openedId : null,
      devices: this.devices.list.slice(), labelled: this.devices.labelled, meters: this.meters.snapshot() };
  }

  dispose() {
    this.devices.dispose();
    this.meters.dispose();
  }
}
