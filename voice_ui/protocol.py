"""The GA Realtime protocol as the Python side spells it: the one home of event names and codes.

Reference: the GA Realtime API as typed in openai-python (`openai.types.realtime`). Only GA names live here;
the beta API's names and flat sessions are bugs.
"""
from enum import StrEnum

SAMPLE_RATE = 24_000            # PCM16 mono, both directions
BYTES_PER_SAMPLE = 2
BYTES_PER_MS = SAMPLE_RATE * BYTES_PER_SAMPLE // 1000
PCM_FORMAT = {'type': 'audio/pcm', 'rate': SAMPLE_RATE}  # the GA `audio.*.format` of PCM16 at 24 kHz
MIN_COMMIT_MS = 100             # the service rejects shorter commits
SUBPROTOCOL = 'realtime'
TOKEN_SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.'
BETA_SUBPROTOCOL = 'openai-beta.realtime-v1'  # offered by beta clients; refused with api_version_mismatch
CLOSE_INVALID_TOKEN = 3000     # after an `invalid_api_key` error on the WebSocket (unverified)
CLOSE_API_VERSION = 4000       # after `api_version_mismatch` (beta subprotocol offered; unverified)
CLOSE_SESSION_EXPIRED = 1001   # after `session_expired` (unverified)
MIC_SILENT_CODE = 'microphone_silent'  # ErrorSource.MICROPHONE: the device opened, but no sound ever reached the page
RESTORED_ITEM_PREFIX = 'earlier-'  # ids of turns restored after a reload: never an id a Realtime server sends
VOICES = ('alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar')


class ClientEvent(StrEnum):
    SESSION_UPDATE = 'session.update'
    INPUT_AUDIO_APPEND = 'input_audio_buffer.append'
    INPUT_AUDIO_COMMIT = 'input_audio_buffer.commit'
    INPUT_AUDIO_CLEAR = 'input_audio_buffer.clear'
    ITEM_CREATE = 'conversation.item.create'
    ITEM_TRUNCATE = 'conversation.item.truncate'
    ITEM_DELETE = 'conversation.item.delete'
    ITEM_RETRIEVE = 'conversation.item.retrieve'
    RESPONSE_CREATE = 'response.create'
    RESPONSE_CANCEL = 'response.cancel'


class ServerEvent(StrEnum):
    ERROR = 'error'
    SESSION_CREATED = 'session.created'
    SESSION_UPDATED = 'session.updated'
    INPUT_AUDIO_COMMITTED = 'input_audio_buffer.committed'
    INPUT_AUDIO_CLEARED = 'input_audio_buffer.cleared'
    SPEECH_STARTED = 'input_audio_buffer.speech_started'
    SPEECH_STOPPED = 'input_audio_buffer.speech_stopped'
    TIMEOUT_TRIGGERED = 'input_audio_buffer.timeout_triggered'
    ITEM_ADDED = 'conversation.item.added'
    ITEM_DONE = 'conversation.item.done'
    ITEM_RETRIEVED = 'conversation.item.retrieved'
    ITEM_TRUNCATED = 'conversation.item.truncated'
    ITEM_DELETED = 'conversation.item.deleted'
    INPUT_TRANSCRIPTION_DELTA = 'conversation.item.input_audio_transcription.delta'
    INPUT_TRANSCRIPTION_COMPLETED = 'conversation.item.input_audio_transcription.completed'
    INPUT_TRANSCRIPTION_FAILED = 'conversation.item.input_audio_transcription.failed'
    RESPONSE_CREATED = 'response.created'
    RESPONSE_DONE = 'response.done'
    OUTPUT_ITEM_ADDED = 'response.output_item.added'
    OUTPUT_ITEM_DONE = 'response.output_item.done'
    CONTENT_PART_ADDED = 'response.content_part.added'
    CONTENT_PART_DONE = 'response.content_part.done'
    OUTPUT_AUDIO_DELTA = 'response.output_audio.delta'
    OUTPUT_AUDIO_DONE = 'response.output_audio.done'
    OUTPUT_AUDIO_TRANSCRIPT_DELTA = 'response.output_audio_transcript.delta'
    OUTPUT_AUDIO_TRANSCRIPT_DONE = 'response.output_audio_transcript.done'
    OUTPUT_TEXT_DELTA = 'response.output_text.delta'
    OUTPUT_TEXT_DONE = 'response.output_text.done'
    FUNCTION_CALL_ARGUMENTS_DELTA = 'response.function_call_arguments.delta'
    FUNCTION_CALL_ARGUMENTS_DONE = 'response.function_call_arguments.done'
    RATE_LIMITS_UPDATED = 'rate_limits.updated'


class ErrorCode(StrEnum):
    INVALID_API_KEY = 'invalid_api_key'
    RATE_LIMIT_EXCEEDED = 'rate_limit_exceeded'
    INSUFFICIENT_QUOTA = 'insufficient_quota'
    MISSING_REQUIRED_PARAMETER = 'missing_required_parameter'
    UNKNOWN_PARAMETER = 'unknown_parameter'
    INVALID_VALUE = 'invalid_value'
    INTEGER_ABOVE_MAX = 'integer_above_max_value'
    INTEGER_BELOW_MIN = 'integer_below_min_value'
    DECIMAL_ABOVE_MAX = 'decimal_above_max_value'
    DECIMAL_BELOW_MIN = 'decimal_below_min_value'
    INVALID_TYPE = 'invalid_type'
    STRING_TOO_LONG = 'string_above_max_length'
    COMMIT_EMPTY = 'input_audio_buffer_commit_empty'
    ACTIVE_RESPONSE = 'conversation_already_has_active_response'
    CANCEL_NOT_ACTIVE = 'response_cancel_not_active'
    SESSION_EXPIRED = 'session_expired'
    API_VERSION_MISMATCH = 'api_version_mismatch'
    ITEM_NOT_FOUND = 'item_not_found'  # an unknown previous_item_id or item_reference (the service's code unseen)
    # The service names an unknown item after what was asked of it; clients match these codes (pipecat fails a
    # pending `retrieve_conversation_item` only on the retrieve one, and takes any other error as fatal).
    ITEM_RETRIEVE_INVALID_ID = 'item_retrieve_invalid_item_id'
    ITEM_DELETE_INVALID_ID = 'item_delete_invalid_item_id'
    ITEM_TRUNCATE_INVALID_ID = 'item_truncate_invalid_item_id'
    INVALID_JSON = 'invalid_json'
    CANNOT_UPDATE_VOICE = 'cannot_update_voice'
    SERVER_ERROR = 'server_error'
    METHOD_NOT_ALLOWED = 'method_not_allowed'
    INVALID_REQUEST = 'invalid_request'
    REQUEST_TIMEOUT = 'request_timeout'


class TurnDetection(StrEnum):
    """How the session detects turns in hands-free mode (GA `audio.input.turn_detection.type`)."""
    SERVER_VAD = 'server_vad'
    SEMANTIC_VAD = 'semantic_vad'


class ResponseStatus(StrEnum):
    IN_PROGRESS = 'in_progress'
    COMPLETED = 'completed'
    CANCELLED = 'cancelled'
    FAILED = 'failed'
    INCOMPLETE = 'incomplete'


# --- The browser component's own vocabulary (mirror of assets/protocol.js; tests/test_protocol_parity.py) ---

class Status(StrEnum):
    """The turn state machine's states. Written only by the JS component; Python mirrors them."""
    IDLE = 'idle'
    CONNECTING = 'connecting'
    RECONNECTING = 'reconnecting'  # a renewal: a new session carries the conversation on; Start is honoured
    LISTENING = 'listening'
    STOPPING = 'stopping'     # Stop was pressed: the last audio is being flushed, commit not yet confirmed
    THINKING = 'thinking'
    SPEAKING = 'speaking'
    ERROR = 'error'
    CLOSED = 'closed'


class UiEvent(StrEnum):
    """Events the component emits to Python (each with one JSON argument); it sends them in batches."""
    STATUS = 'status'                # {status, turn}
    SERVER_EVENT = 'realtime_event'  # a validated, audio-free server event the reducer uses
    TRANSCRIPT = 'transcript'        # {item_id, role, delta, final}: deltas coalesced per frame
    ERROR = 'error'                  # {source, code, message}: the one error channel
    NOTICE = 'notice'                # {kind, message}: a hint, not an error
    TOKEN_WANTED = 'token_wanted'    # {reason}
    LATENCY = 'latency'              # {turn, item_id, response_id, commit_ms, transcript_ms, audio_ms, done_ms}
    BATCH = 'batch'                  # [[name, argument], ...]: the events above of one short window, in order
    DEVICES = 'devices'              # {devices: [{device_id, label}], selected}: the audio inputs, when changed


class ErrorSource(StrEnum):
    SERVER = 'server'          # a Realtime `error` event
    SOCKET = 'socket'          # the Realtime socket could not open or closed abnormally
    MICROPHONE = 'microphone'  # getUserMedia failed (code: the DOMException name)
    TOKEN = 'token'            # no session token (mint failed or timed out)
    AUDIO = 'audio'            # the browser kept audio off
    RESPONSE = 'response'      # a reply failed or never finished (watchdog)


class NoticeKind(StrEnum):
    TOO_SHORT = 'too_short'
    RECONNECTED = 'reconnected'                # a new session carries the conversation on (session-renewal.js)
    CONVERSATION_LIMIT = 'conversation_limit'  # the conversation reached its maximum length and ended
    VOICE_NEXT_SESSION = 'voice_next_session'  # a saved voice waits: the model has spoken in this session
    MICROPHONE = 'microphone'  # the chosen input device is missing or gone: the default is used
    AUDIO_RECORDING = 'audio_recording'  # the audio download: nothing recorded yet, or the cap was reached


class TokenReason(StrEnum):
    PREFETCH = 'prefetch'  # the tab is in use: have one ready so Start connects at once
    START = 'start'        # Start was pressed without a usable token: the page waits for it


class Role(StrEnum):
    USER = 'user'
    AGENT = 'assistant'


# Server events the component forwards to Python (transcript deltas travel coalesced as UiEvent.TRANSCRIPT).
FORWARDED_SERVER_EVENTS = frozenset({
    ServerEvent.INPUT_AUDIO_COMMITTED, ServerEvent.ITEM_ADDED, ServerEvent.ITEM_DONE, ServerEvent.ITEM_TRUNCATED,
    ServerEvent.ITEM_DELETED, ServerEvent.INPUT_TRANSCRIPTION_FAILED, ServerEvent.RESPONSE_DONE,
    ServerEvent.OUTPUT_ITEM_DONE,  # function_call items only: the tool loop runs them
})
MAX_TYPED_CHARS = 4_000  # one typed message (the text box's limit; the component cuts longer text too)
MAX_TRANSCRIPT_EVENT_CHARS = 64_000  # one event well below NiceGUI's 1 MB socket message limit; longer ones split


def error_body(message: str, *, type: str = 'invalid_request_error', code: str | None = None,
               param: str | None = None) -> dict:
    """OpenAI's HTTP error shape: `{"error": {message, type, param, code}}`."""
    return {'error': {'message': message, 'type': type, 'param': param, 'code': code}}
