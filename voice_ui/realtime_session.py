"""The browser half of a Realtime session as a NiceGUI element; its JavaScript lives in `assets/`.

Audio never crosses NiceGUI's socket: the browser talks to the Realtime WebSocket itself and sends only
small JSON events (transcripts, status, errors) back here.
"""
from __future__ import annotations

from nicegui import ui
from nicegui.dependencies import register_esm

from . import ASSETS  # the same folder in a checkout and in an installed wheel

# Serve assets/ as the ES module prefix `voice-ui/`. The URL is hashed from the newest file in the folder,
# so an edited worklet is never shadowed by a year-cached copy (NiceGUI would hash the folder's own mtime).
register_esm('voice-ui', ASSETS, max_time=max(p.stat().st_mtime for p in ASSETS.rglob('*')))


class RealtimeSession(ui.element, component=str(ASSETS / 'realtime_session.js')):
    """Events it emits (each with one dict argument, see assets/realtime_session.js):

    - `realtime_event`: a Realtime server event without audio (transcripts, items, responses, errors)
    - `status`: `{status}` — connecting, listening, thinking, speaking, idle, error, closed
    - `socket_closed`: `{code, reason, was_clean}`
    - `mic_error`: `{name, message}` — permission denied, no device, ...
    - `notice`: `{kind, message}` — e.g. `too_short` when Stop came before 100 ms of audio
    - `playback`: `{frames_played, underruns, response_id}` once a reply has finished playing
    - `push_to_talk`: `{pressed}` — Space held/released (handled in JS so the press is a user gesture)
    """

    def __init__(self) -> None:
        super().__init__()
        self.ignores_events_when_hidden = False

    def unlock_audio_js(self) -> str:
        """JS to run inside a click handler: creates/resumes the AudioContext within the user gesture."""
        return f'getElement({self.id}).unlockAudio()'

    async def start(self, token: str, ws_url: str | None, model: str, session: dict, timeout: float = 10) -> dict:
        """Open the socket with `token` and start streaming the mic. `ws_url=None` means this page's own origin.

        Returns `{ok: true}` or `{ok: false, error}`; progress then arrives as events.
        """
        return await self.run_method('start', token, {'wsUrl': ws_url, 'model': model, 'session': session},
                                     timeout=timeout)

    async def stop(self, timeout: float = 5) -> dict:
        """Flush the last partial chunk, then commit and ask for a response (or report too-short audio).

        Returns `{committed: bool, ms: number}`.
        """
        return await self.run_method('stop', timeout=timeout)

    def provide_token(self, value: str, expires_at: float) -> None:
        """Answer `token_wanted` with a token (an argument, never a prop: props are re-sent on every update)."""
        self.run_method('provide_token', value, expires_at)

    def token_failed(self, message: str) -> None:
        """Answer `token_wanted` with the reason there is no token, in words for the person."""
        self.run_method('token_failed', message)

    def close(self) -> None:
        """Tear down socket, mic tracks, worklets and the AudioContext."""
        self.run_method('close')

