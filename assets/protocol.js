// The GA Realtime protocol as the browser spells it: the one JS home of event names (mirror of voice_ui/protocol.py).
// Only GA names live here: the beta API's names, subprotocol and flat sessions are bugs.

export const SAMPLE_RATE = 24000;          // PCM16 mono, both directions
export const MIN_COMMIT_MS = 100;          // the service rejects shorter commits
export const MAX_CHUNK_MS = 40;            // upper bound for one input_audio_buffer.append
export const SUBPROTOCOL = 'realtime';
export const TOKEN_SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.';
export const REALTIME_PATH = '/v1/realtime';

export const ClientEvent = Object.freeze({
  SESSION_UPDATE: 'session.update',
  INPUT_AUDIO_APPEND: 'input_audio_buffer.append',
  INPUT_AUDIO_COMMIT: 'input_audio_buffer.commit',
  INPUT_AUDIO_CLEAR: 'input_audio_buffer.clear',
  RESPONSE_CREATE: 'response.create',
  RESPONSE_CANCEL: 'response.cancel',
  ITEM_TRUNCATE: 'conversation.item.truncate',
});

export const ServerEvent = Object.freeze({
  ERROR: 'error',
  SESSION_CREATED: 'session.created',
  SESSION_UPDATED: 'session.updated',
  INPUT_AUDIO_COMMITTED: 'input_audio_buffer.committed',
  INPUT_AUDIO_CLEARED: 'input_audio_buffer.cleared',
  RESPONSE_CREATED: 'response.created',
  RESPONSE_DONE: 'response.done',
  OUTPUT_AUDIO_DELTA: 'response.output_audio.delta',
  OUTPUT_AUDIO_DONE: 'response.output_audio.done',
});

export const ErrorCode = Object.freeze({
  COMMIT_EMPTY: 'input_audio_buffer_commit_empty',
  ACTIVE_RESPONSE: 'conversation_already_has_active_response',
});

export const ResponseStatus = Object.freeze({
  IN_PROGRESS: 'in_progress',
  COMPLETED: 'completed',
  CANCELLED: 'cancelled',
  FAILED: 'failed',
  INCOMPLETE: 'incomplete',
});

// What the component reports to Python (see voice_ui/realtime_session.py).
export const Status = Object.freeze({
  CONNECTING: 'connecting',
  LISTENING: 'listening',
  THINKING: 'thinking',
  SPEAKING: 'speaking',
  IDLE: 'idle',
  ERROR: 'error',
  CLOSED: 'closed',
});

export const UiEvent = Object.freeze({
  REALTIME_EVENT: 'realtime_event',
  STATUS: 'status',
  SOCKET_CLOSED: 'socket_closed',
  MIC_ERROR: 'mic_error',
  NOTICE: 'notice',
  PLAYBACK: 'playback',
  PUSH_TO_TALK: 'push_to_talk',
});

export const TOO_SHORT_MESSAGE = 'Nothing was heard — hold the button a little longer.';
export const AUDIO_BLOCKED_MESSAGE = 'The browser kept audio off: click Start Speaking (or press Space) to allow it.';
