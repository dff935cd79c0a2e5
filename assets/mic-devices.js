// The audio input devices for the page's Microphone select: enumerated at once (labels and ids appear only once the
// page may use the microphone, so again after the first getUserMedia) and on every `devicechange`. The first entry
// is always the system default (device id ''); the browser's own "default" alias is folded into it. Labels are made
// unique, so that the select's label names exactly one device.

export const DEFAULT_LABEL = 'System default';
export const MAX_DEVICES = 32;       // an absurd device list must not make the select (or the event) unbounded
const MAX_LABEL_CHARS = 120;
const MAX_ID_CHARS = 256;

// [{deviceId, label}] from enumerateDevices() output; `labelled`: the browser showed names (permission granted).
export function inputList(all) {
  const inputs = (all || []).filter((device) => device && device.kind === 'audioinput');
  const alias = inputs.find((device) => device.deviceId === 'default');
  const name = alias && alias.label ? alias.label.replace(/^Default - /, '').slice(0, MAX_LABEL_CHARS) : '';
  const list = [{ deviceId: '', label: name ? `${DEFAULT_LABEL} (${name})` : DEFAULT_LABEL }];
  const seen = new Set([list[0].label]);
  for (const device of inputs) {
    const id = typeof device.deviceId === 'string' ? device.deviceId : '';
    if (!id || id === 'default' || id.length > MAX_ID_CHARS || list.length > MAX_DEVICES) continue;
    const base = (typeof device.label === 'string' && device.label.trim()) || `Microphone ${list.length}`;
    let label = base.slice(0, MAX_LABEL_CHARS);
    for (let n = 2; seen.has(label); n++) label = `${base.slice(0, MAX_LABEL_CHARS - 6)} (${n})`;
    seen.add(label);
    list.push({ deviceId: id, label });
  }
  return { list, labelled: inputs.some((device) => !!device.label) };
}

export class MicDevices {
  constructor(onChange) {
    this.onChange = onChange;  // (list, labelled) => void, on the first listing and whenever it changed
    this.list = inputList([]).list;
    this.labelled = false;
    this.key = null;
    this.disposed = false;
    this.onDeviceChange = () => this.refresh();
    const media = navigator.mediaDevices;
    if (media && media.addEventListener) media.addEventListener('devicechange', this.onDeviceChange);
    this.refresh();
  }

  async refresh() {
    const media = navigator.mediaDevices;
    if (this.disposed || !media || !media.enumerateDevices) return;
    let all;
    try {
      all = await media.enumerateDevices();
    } catch (error) {
      return;  // keep the last list: the select still works with it
    }
    if (this.disposed) return;
    const { list, labelled } = inputList(all);
    const key = JSON.stringify([list, labelled]);
    if (key === this.key) return;
    Object.assign(this, { list, labelled, key });
    this.onChange(list, labelled);
  }

  byId(deviceId) {
    return this.list.find((device) => device.deviceId === deviceId) || null;
  }

  byLabel(label) {
    return this.list.find((device) => device.label === label) || null;
  }

  // The listed device for a remembered choice: by id, else by label (a browser may issue new ids), else null.
  find(choice) {
    if (!choice.deviceId) return this.list[0];
    return this.byId(choice.deviceId) || (choice.label ? this.byLabel(choice.label) : null);
  }

  dispose() {
    this.disposed = true;
    const media = navigator.mediaDevices;
    if (media && media.removeEventListener) media.removeEventListener('devicechange', this.onDeviceChange);
  }
}
