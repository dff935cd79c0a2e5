// Worklet module URLs resolved from this module's own URL (served under the `voice-ui/` import-map prefix).
const CAPTURE_URL = new URL('../worklets/capture-worklet.js', import.meta.url).href;
const PLAYER_URL = new URL('../worklets/player-worklet.js', import.meta.url).href;

const loaded = new WeakMap();  // AudioContext -> Promise, so each context loads the modules once

export function loadWorklets(context) {
  if (!loaded.has(context)) {
    const promise = Promise.all([CAPTURE_URL, PLAYER_URL].map((url) => context.audioWorklet.addModule(url)));
    promise.catch(() => loaded.delete(context));  // a failed load may be retried
    loaded.set(context, promise);
  }
  return loaded.get(context);
}
