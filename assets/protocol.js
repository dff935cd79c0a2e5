// The GA Realtime protocol as the browser spells it: the one JS home of event names (mirror of voice_ui/protocol.py).
// Only GA names live here: the beta API's names, subprotocol and flat sessions are bugs.

export const SAMPLE_RATE = 24000;          // PCM16 mono, both directions
export const MIN_COMMIT_MS = 100;          // the service rejects shorter commits
export const MAX_CHUNK_MS = 40;            // upper bound for one input_audio_buffer.append
export const SUBPROTOCOL = 'realtime';
export const TOKEN_SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.';
export const REALTIME_PATH = '/v1/realtime';
export const RESTORED_ITEM_PREFIX = 'earlier-';  // turns restored after a reload (never a server's item id)

export const ClientEvent = Object.freeze({
  SESSION_UPDATE: 'session.update',
  INPUT_AUDIO_APPEND: 'input_audio_buffer.append',
  INPUT_AUDIO_COMMIT: 'input_audio_buffer.commit',
  INPUT_AUDIO_CLEAR: 'input_audio_buffer.clear',
  ITEM_CREATE: 'conversation.item.create',
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
  SPEECH_STARTED: 'input_audio_buffer.speech_started',
  SPEECH_STOPPED: 'input_audio_buffer.speech_stopped',
  ITEM_ADDED: 'conversation.item.added',
  ITEM_DONE: 'conversation.item.done',
  ITEM_TRUNCATED: 'conversation.item.truncated',
  ITEM_DELETED: 'conversation.item.deleted',
  INPUT_TRANSCRIPTION_DELTA: 'conversation.item.input_audio_transcription.delta',
  INPUT_TRANSCRIPTION_COMPLETED: 'conversation.item.input_audio_transcription.completed',
  INPUT_TRANSCRIPTION_FAILED: 'conversation.item.input_audio_transcription.failed',
  RESPONSE_CREATED: 'response.created',
  RESPONSE_DONE: 'response.done',
  OUTPUT_ITEM_ADDED: 'response.output_item.added',
  OUTPUT_ITEM_DONE: 'response.output_item.done',
  OUTPUT_AUDIO_DELTA: 'response.output_audio.delta',
  OUTPUT_AUDIO_DONE: 'response.output_audio.done',
  OUTPUT_AUDIO_TRANSCRIPT_DELTA: 'response.output_audio_transcript.delta',
  OUTPUT_AUDIO_TRANSCRIPT_DONE: 'response.output_audio_transcript.done',
  OUTPUT_TEXT_DELTA: 'response.output_text.delta',
  OUTPUT_TEXT_DONE: 'response.output_text.done',
});

export const ErrorCode = Object.freeze({
  COMMIT_EMPTY: 'input_audio_buffer_commit_empty',
  ACTIVE_RESPONSE: 'conversation_already_has_active_response',
  SESSION_EXPIRED: 'session_expired',
  CANNOT_UPDATE_VOICE: 'cannot_update_voice',
});

// How the session detects turns in hands-free mode (GA `audio.input.turn_detection.type`).
export const TurnDetection = Object.freeze({
  SERVER_VAD: 'server_vad',
  SEMANTIC_VAD: 'semantic_vad',
});

export const ResponseStatus = Object.freeze({
  IN_PROGRESS: 'in_progress',
  COMPLETED: 'completed',
  CANCELLED: 'cancelled',
  FAILED: 'failed',
  INCOMPLETE: 'incomplete',
});

// What the component reports to Python (mirror of voice_ui/protocol.py; tests/test_protocol_parity.py checks it).
export const Status = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  // a renewal (session-renewal.js): Start is honoured, its turn begins once the new session is up
  RECONNECTING: 'reconnecting',
  LISTENING: 'listening',
  STOPPING: 'stopping',
  THINKING: 'thinking',
  SPEAKING: 'speaking',
  ERROR: 'error',
  CLOSED: 'closed',
});

export const UiEvent = Object.freeze({
  STATUS: 'status',
  SERVER_EVENT: 'realtime_event',
  TRANSCRIPT: 'transcript',
  ERROR: 'error',
  NOTICE: 'notice',
  TOKEN_WANTED: 'token_wanted',
  LATENCY: 'latency',
  BATCH: 'batch',
  DEVICES: 'devices',
});

export const ErrorSource = Object.freeze({
  SERVER: 'server',
  SOCKET: 'socket',
  MICROPHONE: 'microphone',
  TOKEN: 'token',
  AUDIO: 'audio',
  RESPONSE: 'response',
});

export const NoticeKind = Object.freeze({
  TOO_SHORT: 'too_short',
  RECONNECTED: 'reconnected',
  CONVERSATION_LIMIT: 'conversation_limit',
  VOICE_NEXT_SESSION: 'voice_next_session',
  MICROPHONE: 'microphone',
  // The audio download: nothing recorded yet, or the recording's cap was reached.
  AUDIO_RECORDING: 'audio_recording',
});

export const TokenReason = Object.freeze({
  PREFETCH: 'prefetch',
  START: 'start',
});

export const Role = Object.freeze({
  USER: 'user',
  AGENT: 'assistant',
});

// Server events forwarded to Python as they are (without audio); transcript deltas go coalesced as TRANSCRIPT.
export const FORWARDED_SERVER_EVENTS = Object.freeze(new Set([
  ServerEvent.INPUT_AUDIO_COMMITTED, ServerEvent.ITEM_ADDED, ServerEvent.ITEM_DONE, ServerEvent.ITEM_TRUNCATED,
  ServerEvent.ITEM_DELETED, ServerEvent.INPUT_TRANSCRIPTION_FAILED, ServerEvent.RESPONSE_DONE,
  ServerEvent.OUTPUT_ITEM_DONE,  // function_call items only: the tool loop runs them
]));
export const MAX_TRANSCRIPT_EVENT_CHARS = 64000;
export const MAX_TYPED_CHARS = 4000;  // one typed message; longer text is cut (the page's text box has the same limit)  // well below NiceGUI's 1 MB socket message: longer ones split

export const TOO_SHORT_MESSAGE = 'Nothing was heard — hold the button a little longer.';
export const TOKEN_TIMEOUT_MESSAGE = 'No session token arrived in time. Check the connection and press Start Speaking again.';
export const REPLY_STALLED_MESSAGE = 'The reply stopped arriving. Press Start Speaking to go on.';
export const COMMIT_STALLED_MESSAGE = 'The voice service did not confirm the recording. Press Start Speaking to try again.';
export const VOICE_NEXT_SESSION_MESSAGE = 'The new voice applies from the next session: the agent has already spoken in this one.';
export const MIC_SILENT_CODE = 'microphone_silent';  // the ErrorSource.MICROPHONE code when no sound ever came
export const MIC_SILENT_MESSAGE = 'The microphone opened but sends no sound.';
export const AUDIO_BLOCKED_MESSAGE = 'The browser kept audio off: click Start Speaking (or press Space) to allow it.';
