// The boundary for what the Realtime server sends: every frame is untrusted. A frame becomes an event only if
// it is a JSON object with a string `type`, and the fields this client reads have the types it expects; anything
// else is dropped with a console warning, so no server event can throw in the page or poison Python's state.
import { MAX_TRANSCRIPT_EVENT_CHARS, ServerEvent as S } from './protocol.js';

const MAX_ID = 256;
const MAX_DEPTH = 8;
const MAX_ARRAY = 200;

const isObject = (value) => !!value && typeof value === 'object' && !Array.isArray(value);
const isId = (value) => typeof value === 'string' && value.length > 0 && value.length <= MAX_ID;
const optionalId = (value) => value === undefined || value === null || isId(value);
const isString = (value) => typeof value === 'string';

// Per event type: the fields read by this client (or by the Python reducer) and what they must be.
const CHECKS = {
  [S.ERROR]: (e) => isObject(e.error),
  [S.INPUT_AUDIO_COMMITTED]: (e) => isId(e.item_id) && optionalId(e.previous_item_id),
  [S.ITEM_ADDED]: (e) => isObject(e.item) && optionalId(e.item.id) && optionalId(e.previous_item_id),
  [S.ITEM_DONE]: (e) => isObject(e.item) && optionalId(e.item.id) && optionalId(e.previous_item_id),
  [S.ITEM_TRUNCATED]: (e) => isId(e.item_id),
  [S.ITEM_DELETED]: (e) => isId(e.item_id),
  [S.RESPONSE_CREATED]: (e) => isObject(e.response) && isId(e.response.id),
  [S.RESPONSE_DONE]: (e) => isObject(e.response) && isId(e.response.id),
  [S.OUTPUT_AUDIO_DELTA]: (e) => isId(e.response_id) && optionalId(e.item_id) && isString(e.delta),
  [S.OUTPUT_AUDIO_DONE]: (e) => optionalId(e.response_id),
  [S.INPUT_TRANSCRIPTION_DELTA]: (e) => isId(e.item_id) && isString(e.delta),
  [S.OUTPUT_AUDIO_TRANSCRIPT_DELTA]: (e) => isId(e.item_id) && isString(e.delta),
  [S.OUTPUT_TEXT_DELTA]: (e) => isId(e.item_id) && isString(e.delta),
  [S.INPUT_TRANSCRIPTION_COMPLETED]: (e) => isId(e.item_id) && (e.transcript == null || isString(e.transcript)),
  [S.OUTPUT_AUDIO_TRANSCRIPT_DONE]: (e) => isId(e.item_id) && (e.transcript == null || isString(e.transcript)),
  [S.OUTPUT_TEXT_DONE]: (e) => isId(e.item_id) && (e.text == null || isString(e.text)),
  [S.INPUT_TRANSCRIPTION_FAILED]: (e) => isId(e.item_id),
};

// Parses one WebSocket frame: the event, or null (with the reason in the console) if it is not one.
export function parseServerFrame(data) {
  if (typeof data !== 'string') return reject('a binary frame');
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return reject('a frame that is not JSON');
  }
  if (!isObject(event) || !isString(event.type) || !event.type || event.type.length > 100) {
    return reject('a frame without a string `type`');
  }
  const check = CHECKS[event.type];
  if (check && !check(event)) return reject(`a malformed ${event.type}`);
  return event;
}

// {code, message, event_id} of an `error` event, every field a string or null.
export function errorOf(event) {
  const error = event.error;
  const str = (value) => (isString(value) ? value.slice(0, 1000) : null);
  return { code: str(error.code), message: str(error.message) || '', event_id: str(error.event_id) || str(event.event_id) };
}

// A copy fit for Python: no base64 audio, bounded depth, arrays and strings (an item's content is shown by the
// coalesced transcript events anyway).
export function forPython(value, depth = 0) {
  if (isString(value)) return value.length > MAX_TRANSCRIPT_EVENT_CHARS ? value.slice(0, MAX_TRANSCRIPT_EVENT_CHARS) : value;
  if (!value || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(value)) return value.slice(0, MAX_ARRAY).map((item) => forPython(item, depth + 1));
  const out = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === 'audio' && isString(item)) continue;  // base64 input audio inside an item
    out[key] = forPython(item, depth + 1);
  }
  return out;
}

function reject(what) {
  console.warn(`voice-ui: ignoring ${what} from the Realtime server`);
  return null;
}
