"""The voice page: buttons, status, error banner and transcript, wired to one `RealtimeSession` per tab.

Data flows one way: token service → page → browser component → events → `Conversation` → bound cards.
"""
from __future__ import annotations

from dataclasses import dataclass

from nicegui import app, binding, events, ui
from starlette.requests import Request

from .access import Access, Identity
from .access.core import SCOPE_KEY
from .access.login import account_row
from .access.page_tokens import PageTokens
from .config import Settings
from .conversation import Conversation
from .metrics import METRICS
from .realtime_session import ASSETS, RealtimeSession
from .session_config import session_update
from .token_service import TokenError, TokenService
from .transcript_view import TranscriptView
from .usage_view import usage_line

STATUS_TEXT = {
    'idle': 'Ready', 'connecting': 'Connecting…', 'listening': 'Listening… press Stop Speaking (or release Space)',
    'thinking': 'Thinking…', 'speaking': 'Agent is speaking…', 'error': 'Something went wrong — see above',
    'closed': 'Session closed',
}
BROWSER_TIMEOUT = 'The page did not answer in time. Reload the page and try again.'


@dataclass(frozen=True)
class Backend:
    settings: Settings         # effective settings (base URL already pointing at the embedded server if used)
    tokens: TokenService
    label: str                 # e.g. "OpenAI · gpt-realtime" or "Embedded server · echo agent"
    browser_ws_url: str | None  # None: the page's own origin (embedded server on this port)


class VoicePage:
    capturing = binding.BindableProperty()  # the mic is streaming a turn; pushed to the buttons at once

    def __init__(self, backend: Backend, access: Access, identity: Identity) -> None:
        self.backend, self.access, self.identity = backend, access, identity
        self.conversation = Conversation()
        client = ui.context.client
        # Tokens only on the browser's request (token_wanted / Start), never while rendering: a bare GET mints nothing.
        self.tokens = PageTokens(backend.tokens, access, identity, client.id,
                                 connected=lambda: client.has_socket_connection)
        self.capturing = False
        self.starting = False
        self.wants_capture = False  # Space released while still starting: stop right after
        self._build()
        client.on_delete(self.tokens.close)

    def _build(self) -> None:
        ui.add_css((ASSETS / 'style.css').read_text(encoding='utf-8'))
        ui.dark_mode(None)  # follow the system
        conv = self.conversation
        with ui.column().classes('vu-page w-full max-w-3xl mx-auto p-4 gap-4'):
            with ui.row().classes('w-full items-center justify-between'):
                ui.label('voice-ui').classes('text-2xl font-semibold')
                with ui.column().classes('items-end gap-0'):
                    ui.label(self.backend.label).classes('vu-backend')
                    account_row(self.access, self.identity)
            with ui.row().classes('vu-error w-full items-center no-wrap').props('role=alert') \
                    .bind_visibility_from(conv, 'error'):
                ui.icon('error_outline')
                ui.label().classes('grow').bind_text_from(conv, 'error')
                ui.button(icon='close', on_click=lambda: setattr(conv, 'error', '')).props('flat round dense') \
                    .tooltip('Dismiss')
            ui.label().classes('vu-notice').bind_text_from(conv, 'notice').bind_visibility_from(conv, 'notice')
            self.session = RealtimeSession()
            self._wire(self.session)
            with ui.row().classes('vu-controls w-full items-center gap-2'):
                self.start_button = ui.button('Start Speaking', icon='mic', on_click=self.start).mark('start') \
                    .bind_enabled_from(self, 'capturing', backward=lambda c: not c)
                self.start_button.on('click', js_handler=f'(e) => {{ {self.session.unlock_audio_js()}; emit(e); }}')
                ui.button('Stop Speaking', icon='stop', on_click=self.stop).mark('stop') \
                    .bind_enabled_from(self, 'capturing')
                ui.button('Close Session', icon='power_settings_new', on_click=self.close).mark('close') \
                    .props('outline')
            with ui.row().classes('vu-status-row items-center gap-2'):
                ui.label().classes('vu-status').props('aria-live=polite') \
                    .bind_text_from(conv, 'status', lambda s: STATUS_TEXT.get(s, s))
                ui.label('Agent is speaking…').classes('vu-speaking') \
                    .bind_visibility_from(conv, 'status', lambda s: s == 'speaking')
            self.transcript = TranscriptView(conv)
            usage_line(conv, self.backend.settings.model)
            ui.label('Tip: hold Space to talk.').classes('vu-tip')

    def _wire(self, session: RealtimeSession) -> None:
        session.on('realtime_event', lambda e: self._fold(e.args))
        session.on('status', self._on_status)
        session.on('token_wanted', self._on_token_wanted)
        session.on('socket_closed', self._on_socket_closed)
        session.on('mic_error', self._on_mic_error)
        session.on('notice', lambda e: setattr(self.conversation, 'notice', e.args.get('message', '')))
        session.on('push_to_talk', self._on_push_to_talk)

    # --- actions ---

    async def start(self) -> None:
        self.wants_capture = True
        if self.capturing or self.starting:
            return
        self.starting = True
        self.conversation.notice = ''
        try:
            await self._start_session()
        finally:
            self.starting = False
        if self.capturing and not self.wants_capture:
            await self.stop()

    async def _start_session(self) -> None:
        try:
            token = await self.tokens.get('start')
        except TokenError as error:
            self.conversation.fail(error.message)
            return
        settings = self.backend.settings
        self.conversation.set_status('connecting')
        try:
            result = await self.session.start(token.value, self.backend.browser_ws_url, settings.model,
                                              session_update(settings))
        except TimeoutError:
            self.conversation.fail(BROWSER_TIMEOUT)
            return
        if result and result.get('ok'):
            self.capturing = True
        elif not self.conversation.error:  # a mic or socket event may already have said something more precise
            self.conversation.fail((result or {}).get('error') or 'The session could not start.')

    async def stop(self) -> None:
        self.wants_capture = False
        if not self.capturing:
            return
        self.capturing = False
        try:
            await self.session.stop()
        except TimeoutError:
            self.conversation.fail(BROWSER_TIMEOUT)

    def close(self) -> None:
        self.wants_capture = self.capturing = False
        self.session.close()
        self.conversation.reset()
        self.transcript.clear()

    # --- events from the browser ---

    def _fold(self, event: dict) -> None:
        METRICS.count('voice_ui_realtime_events_total')
        self.conversation.apply(event)
        self.transcript.sync()

    def _on_status(self, e: events.GenericEventArguments) -> None:
        status = str(e.args.get('status', '')) if isinstance(e.args, dict) else ''
        self.tokens.status(status)  # open sessions per person are counted from what the page reports
        self.conversation.set_status(status)

    async def _on_token_wanted(self, e: events.GenericEventArguments) -> None:
        reason = 'prefetch' if isinstance(e.args, dict) and e.args.get('reason') == 'prefetch' else 'start'
        try:
            token = await self.tokens.get(reason)
        except TokenError as error:
            self.session.token_failed(error.message)
            if reason == 'start':
                self.conversation.fail(error.message)
            return
        self.session.provide_token(token.value, token.expires_at)

    def _on_socket_closed(self, e: events.GenericEventArguments) -> None:
        self.capturing = False
        self.conversation.socket_closed(int(e.args.get('code') or 1006), e.args.get('reason') or '')

    def _on_mic_error(self, e: events.GenericEventArguments) -> None:
        self.capturing = False
        self.conversation.mic_error(e.args.get('name', ''), e.args.get('message', ''))

    async def _on_push_to_talk(self, e: events.GenericEventArguments) -> None:
        await (self.start() if e.args.get('pressed') else self.stop())


def register_pages(backend: Backend, access: Access) -> None:
    @ui.page('/', title='voice-ui')
    def index(request: Request) -> None:
        identity = request.scope.get(SCOPE_KEY) or Identity('', f'ip:{access.client_address(request.scope)}',
                                                            'anonymous')
        access.bind_page(ui.context.client, identity)
        VoicePage(backend, access, identity)

    app.on_shutdown(backend.tokens.aclose)
