"""The voice page: buttons, status, error banner and transcript, wired to one `RealtimeSession` per tab.

Data flows one way: token service → page → browser component → events → `Conversation` → bound cards.
"""
from __future__ import annotations

from dataclasses import dataclass

from nicegui import app, ui
from starlette.requests import Request

from .access import Access, Identity
from .access.core import SCOPE_KEY
from .access.login import account_row
from .access.page_tokens import PageTokens, session_limit_message
from .config import Settings
from .conversation import Conversation
from .events_view import EventsDrawer
from .export_view import export_controls
from .metrics import counted
from .microphone_view import MicrophoneView
from .protocol import MAX_TYPED_CHARS, ErrorSource, Status
from .renewal import show_notice
from .realtime_session import ASSETS, RealtimeSession, StatusEventArguments, TokenWantedEventArguments
from .focus import TurnFocus
from .session_config import session_update
from .settings import VoiceSettings, live_update
from .settings_view import SettingsView
from .token_service import TokenError, TokenService
from .tools import ToolRunner
from .tools.loop import ToolLoop
from .transcript_keeper import TranscriptKeeper
from .transcript_view import TranscriptView
from .usage_view import usage_line

STATUS_TEXT = {
    Status.IDLE: 'Ready', Status.CONNECTING: 'Connecting…', Status.RECONNECTING: 'Reconnecting…',
    Status.LISTENING: 'Listening… press Stop Speaking (or release Space)', Status.STOPPING: 'Sending…',
    Status.THINKING: 'Thinking…', Status.SPEAKING: 'Agent is speaking…',
    Status.ERROR: 'Something went wrong — see above', Status.CLOSED: 'Session closed',
}
HANDS_FREE_TEXT = {Status.LISTENING: 'Listening… just talk', Status.STOPPING: 'Sending…'}
CAPTURING = (Status.CONNECTING, Status.LISTENING, Status.STOPPING)


@dataclass(frozen=True)
class Backend:
    settings: Settings         # effective settings (base URL already pointing at the embedded server if used)
    tokens: TokenService
    label: str                 # e.g. "OpenAI · gpt-realtime" or "Embedded server · echo agent"
    browser_ws_url: str | None  # None: the page's own origin (embedded server on this port)
    detail: str = ''           # printed under the start-up line, e.g. the embedded server's turn detection


class VoicePage:
    def __init__(self, backend: Backend, access: Access, identity: Identity) -> None:
        self.backend, self.access, self.identity = backend, access, identity
        self.conversation = Conversation()
        client = ui.context.client
        # Tokens only on the browser's request (token_wanted), never while rendering: a bare GET mints nothing.
        self.tokens = PageTokens(backend.tokens, access, identity, client.id,
                                 connected=lambda: client.has_socket_connection,
                                 session=lambda: self.settings_view.current.apply_to(backend.settings))
        self.runner = ToolRunner(backend.settings.tools)  # this tab's tool calls, their records and timers
        self._build()
        self.tools = ToolLoop(self.runner, self.session.send_events)  # Python runs tools; the browser sends
        client.on_delete(self.tokens.close)
        # The conversation so far survives a reload and a replica's death (kept per sign-in and tab, coalesced)
        replays = backend.settings.replay_turns > 0 and backend.settings.replay_chars > 0
        TranscriptKeeper(access.shared_state.transcripts, self.conversation,
                         scope=identity.session_id or identity.key, client=client,
                         remember=self.session.remember_turns if replays else None)
        client.on_delete(self.tools.close)

    def _build(self) -> None:
        ui.add_css((ASSETS / 'style.css').read_text(encoding='utf-8'))
        ui.dark_mode(None)  # follow the system
        conv = self.conversation
        settings = self.backend.settings
        self.settings_view = SettingsView(self.identity, VoiceSettings.from_config(settings), self._apply_settings)
        mine = self.settings_view.current  # this person's saved settings over the app's configuration
        with ui.column().classes('vu-page w-full max-w-3xl mx-auto p-4 gap-4'):
            with ui.row().classes('w-full items-center justify-between'):
                ui.label('voice-ui').classes('text-2xl font-semibold')
                with ui.column().classes('items-end gap-0'):
                    ui.label(self.backend.label).classes('vu-backend')
                    with ui.row().classes('items-center gap-2'):
                        account_row(self.access, self.identity)
                        self.settings_view.button()
            with ui.row().classes('vu-error w-full items-center no-wrap').props('role=alert') \
                    .bind_visibility_from(conv, 'error'):
                ui.icon('error_outline')
                ui.label().classes('grow').bind_text_from(conv, 'error')
                ui.button(icon='close', on_click=lambda: setattr(conv, 'error', '')).props('flat round dense') \
                    .tooltip('Dismiss')
            ui.label().classes('vu-notice').bind_text_from(conv, 'notice').bind_visibility_from(conv, 'notice')
            self.session = RealtimeSession(ws_url=self.backend.browser_ws_url, model=settings.model,
                                           session=session_update(mine.apply_to(settings)),
                                           turn_detection=mine.turn_detection_body(), hands_free=mine.hands_free,
                                           renewal=settings.renewal,
                                           record_audio_seconds=settings.record_audio_minutes * 60)
            self._wire(self.session)
            with ui.row().classes('vu-controls w-full items-center gap-2'):
                # The gestures act in the browser at once (and unlock audio there); Python hears of them as status.
                # Start and Stop act on the mouse's press (a held Start is hold-to-talk), else on the click.
                turn_button = self.session.turn_button
                start = turn_button(ui.button('Start Speaking', icon='mic').mark('start'), 'start') \
                    .bind_enabled_from(conv, 'status', backward=lambda s: s not in CAPTURING)
                self.stop_button = turn_button(ui.button('Stop Speaking', icon='stop').mark('stop'), 'stop') \
                    .bind_enabled_from(conv, 'status', backward=lambda s: s == Status.LISTENING and not self.hands_free)
                close = ui.button('Close Session', icon='power_settings_new', on_click=self.close).mark('close') \
                    .props('outline')
                # The switch acts in the browser too (it opens the mic: a gesture); Python keeps its value.
                self.hands_free_switch = ui.switch('Hands-free', value=mine.hands_free, on_change=self._on_hands_free) \
                    .mark('hands-free') \
                    .on('update:model-value', js_handler=f'(on) => {self.session.js_call("set_hands_free", "on")}')
            self.focus = TurnFocus(start, self.stop_button, close, lambda: self.hands_free)  # to what acts next
            MicrophoneView(self.session)  # device select (remembered per user) and level meters
            self._typing_row()
            with ui.row().classes('vu-status-row items-center gap-2'):  # one status indicator (the dot: speaking)
                ui.element('span').classes('vu-speaking').props('aria-hidden=true') \
                    .bind_visibility_from(conv, 'status', lambda s: s == Status.SPEAKING)
                self.status_label = ui.label().classes('vu-status').props('role=status aria-live=polite') \
                    .bind_text_from(conv, 'status', self._status_text)
            self.transcript = TranscriptView(conv, self.runner)
            self.transcript.container.props('role=log aria-live=polite aria-label=Conversation')
            usage_line(conv, settings.model, billed=not settings.uses_embedded_server)
            export_controls(conv, settings.model, self.session)
            events = EventsDrawer(self.session)
            ui.button('Events', icon='list', on_click=events.open).mark('events').props('flat dense')
            ui.label('Tip: hold Space (or Start Speaking) to talk.').classes('vu-tip')

    def _typing_row(self) -> None:
        """Message box and Send: the browser sends the text at once (interrupting the agent), then clears the box."""
        with ui.row().classes('vu-typing w-full items-center no-wrap gap-2'):
            box = ui.input('Message').props(f'maxlength={MAX_TYPED_CHARS} outlined dense') \
                .classes('grow').mark('message')
            call = self.session.js_call('send_text', 'box.inputValue || ""')
            send = ('(e) => { if (e && e.isComposing) return; const box = getElement(%d); %s; box.inputValue = ""; '
                    'if (box.$refs.qRef) box.$refs.qRef.focus(); }' % (box.id, call))
            box.on('keydown.enter', js_handler=send)
            ui.button('Send', icon='send').mark('send').on('click', js_handler=send)

    @property
    def hands_free(self) -> bool:
        switch = getattr(self, 'hands_free_switch', None)
        return bool(switch is not None and switch.value)

    def _status_text(self, status: str) -> str:
        return (self.hands_free and HANDS_FREE_TEXT.get(status)) or STATUS_TEXT.get(status, status)

    def _on_hands_free(self) -> None:
        """The browser already switched; the page's words and the Stop button follow."""
        status = self.conversation.status
        self.stop_button.set_enabled(status == Status.LISTENING and not self.hands_free)
        self.status_label.set_text(self._status_text(status))

    def _wire(self, session: RealtimeSession) -> None:
        conv = self.conversation
        session.on_status(self._on_status)
        session.on_server_event(counted(lambda e: (conv.apply(e.event), self.tools.on_server_event(e.event))))
        session.on_transcript(counted(lambda e: conv.transcript(e.item_id, e.role, e.delta, replace=e.replace,
                                                                final=e.final)))
        session.on_error(lambda e: (conv.show_error(e.source, e.code, e.message),
                                    e.source == ErrorSource.SERVER and self.tools.on_server_error()))
        session.on_notice(lambda e: show_notice(conv, e.kind, e.message))  # renewal.py: 'reconnected' notes the card
        session.on_token_wanted(self._on_token_wanted)
        session.on_latency(lambda e: conv.record_latency(e.item_id, e.latency))

    def _on_status(self, e: StatusEventArguments) -> None:
        if not self.tokens.status(e.status):  # open sessions per person are counted from what the page reports
            self.session.close()  # a prefetched token opened one session too many: that one ends at once
            self.conversation.show_error(ErrorSource.TOKEN, 'session_limit',
                                         session_limit_message(self.tokens.limit))
            return
        self.conversation.set_status(e.status)
        self.focus.status(e.status)
        self.tools.on_status(e.status)  # a barge-in cancels running calls; announcements wait for idle

    async def _on_token_wanted(self, e: TokenWantedEventArguments) -> None:
        try:
            token = await self.tokens.get(e.reason.value)
        except TokenError as error:
            self.session.token_failed(error.message)  # a waiting Start reports it on the error channel
            return
        self.session.provide_token(token.value, token.expires_at)

    def _apply_settings(self, mine: VoiceSettings) -> None:
        """Saved in the dialog: every later connect gets them, and an open session at once (the voice where allowed)."""
        session = session_update(mine.apply_to(self.backend.settings))
        self.session.update_session(session, live_update(session), mine.turn_detection_body())

    async def close(self) -> None:
        self.session.close()
        self.conversation.reset()
        await self.tools.reset()  # running calls, pending replies and timers end with the session


def register_pages(backend: Backend, access: Access) -> None:
    @ui.page('/', title='voice-ui')
    def index(request: Request) -> None:
        identity = request.scope.get(SCOPE_KEY) or Identity('', f'ip:{access.client_address(request.scope)}',
                                                            'anonymous')
        access.bind_page(ui.context.client, identity)
        VoicePage(backend, access, identity)

    app.on_shutdown(backend.tokens.aclose)
