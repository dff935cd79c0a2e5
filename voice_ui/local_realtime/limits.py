"""Every bound the embedded server keeps against hostile or careless peers, with its default, in one place.

A client that crosses a bound gets a GA `error` event (or an HTTP 4xx) and its session lives on; no bound is
enforced by letting memory grow. `LocalRealtimeConfig(limits=ServerLimits(...))` changes them.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..protocol import BYTES_PER_MS

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServerLimits:
    # Client events (the sans-I/O engine checks these)
    max_append_bytes: int = 15 * MIB         # decoded audio per `input_audio_buffer.append` (the service's 15 MiB)
    max_input_buffer_bytes: int = 16 * MIB   # uncommitted input audio (~5.8 min); with VAD idle, old silence goes
    max_frame_bytes: int = 21 * MIB          # one client message: a 15 MiB append in base64 plus its envelope
    max_json_depth: int = 64                 # nesting of a client event or mint body
    max_kept_audio_bytes: int = 4 * MIB      # conversation audio kept per session (~44 s); older audio is dropped,
    #                                          transcripts stay
    max_conversation_items: int = 4096      # items a session keeps; past it or ...
    max_conversation_bytes: int = 8 * MIB   # ... this much text, the oldest are forgotten (as truncation: auto)
    max_queued_events: int = 10_000          # server events queued for a client that does not read: reading waits
    max_queued_bytes: int = 32 * MIB         # ... and the bytes they hold (a retrieve queues MBs of audio)
    # Connections (the transport and the server check these)
    max_sessions: int = 1000                 # open WebSocket sessions per process
    max_sessions_per_token: int = 10         # open sessions per ephemeral token (API keys: only max_sessions)
    max_subprotocol_header_bytes: int = 4096  # `Sec-WebSocket-Protocol`: refused (HTTP 403) above this
    max_request_head_bytes: int = 16 * 1024  # request line + headers (HTTP 431 above), with the guarded protocols
    handshake_timeout_s: float = 10.0        # a request head not complete by then: the connection is dropped
    send_stall_timeout_s: float = 30.0       # a WebSocket peer that reads nothing for this long is dropped
    max_mint_body_bytes: int = 1 * MIB       # `POST /realtime/client_secrets` body (HTTP 413 above)
    request_body_timeout_s: float = 10.0     # ... not all received by then: HTTP 408 (a stalled body held it forever)
    session_log_sessions: int = 20           # introspection (`--allow-faults` only): sessions remembered
    session_log_events: int = 20_000         # ... client events remembered per session (then only counted)
    session_log_event_bytes: int = 4096      # ... events larger than this are kept as type and size only

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f'ServerLimits.{name} must be a positive number, not {value!r}')

    @property
    def ws_max_size(self) -> int:
        """What the WebSocket layer itself accepts: frames between `max_frame_bytes` and this get an `error`
        event; bigger ones are refused there (close 1009) before they are buffered whole."""
        return 2 * self.max_frame_bytes

    @property
    def max_input_buffer_ms(self) -> int:
        return self.max_input_buffer_bytes // BYTES_PER_MS
