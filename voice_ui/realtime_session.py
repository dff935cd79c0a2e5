"""The browser half of a Realtime session as a NiceGUI element; its JavaScript lives in `assets/`.

Audio never crosses NiceGUI's socket: the browser talks to the Realtime WebSocket itself and sends only
small JSON events (transcripts, status, errors) back here. The turn state machine lives in the browser
(`assets/voice-session.js`; typing in `typed-turn.js`, hands-free in `hands-free.js`): Start, Stop, Space, Send
and the Hands-free switch act there at once, and Python is told through typed events, like NiceGUI's own elements
(`on_status`, `on_transcript`, ...). Python never writes the status.

States (protocol.Status): idle → connecting → listening → stopping → thinking → speaking → idle, plus error and
closed; reconnecting while a renewal brings up a new session (a Start is honoured then: its turn begins once it is
up). A server-VAD mode fits the same machine: `input_audio_buffer.speech_started` enters listening,
`speech_stopped` stopping, `committed` thinking — only the events that move it change, not the states (the
Hands-free switch sets `turn_detection` with `session.update`).
"""
from __future__ import annotations

from collections.abc import Callable

from nicegui import ui
from nicegui.dependencies import register_esm
from nicegui.events import GenericEventArguments, Handler, UiEventArguments, handle_event
from nicegui.helpers import expects_arguments

from .event_budget import EVENT_BURST, EventBudget
from .latency import TurnLatency
from .protocol import ErrorSource, NoticeKind, Role, Status, TokenReason, UiEvent
from .realtime_events import (  # noqa: F401  (re-exported: the element's public event types)
    MAX_DEVICES, MAX_RECORD_AUDIO_SECONDS, DevicesEventArguments, ErrorEventArguments, InputDevice,
    LatencyEventArguments, NoticeEventArguments, ServerEventArguments, StatusEventArguments,
    TokenWantedEventArguments, TranscriptEventArguments, _code, _enum, _record_seconds, _str, devices_from,
)

from . import ASSETS  # the same folder in a checkout and in an installed wheel

# Serve assets/ as the ES module prefix `voice-ui/`. The URL is hashed from the newest file in the folder,
# so an edited worklet is never shadowed by a year-cached copy (NiceGUI would hash the folder's own mtime).
register_esm('voice-ui', ASSETS, max_time=max(p.stat().st_mtime for p in ASSETS.rglob('*')))


MAX_BATCH_EVENTS = EVENT_BURST  # a batch is one socket message (< 1 MB); more entries than this are no browser's
TURN_BUTTONS = ('start', 'stop')  # assets/press.js TurnButton
BATCHED = {e.value: '_' + e.name.lower() for e in UiEvent if e != UiEvent.BATCH}  # name -> its handler


class RealtimeSession(ui.element, component=str(ASSETS / 'realtime_session.js')):
    """A voice session: socket, microphone, player and turn state machine, all in the browser.

    :param ws_url: the Realtime WebSocket URL (`None`: this page's own origin, i.e. the embedded server)
    :param model: the model query parameter of the socket URL
    :param session: the GA `session.update` body sent when the socket opens
    :param turn_detection: the GA `turn_detection` of hands-free mode (`None`: server_vad with its defaults)
    :param hands_free: the Hands-free switch is on when the page opens (the next Start streams for the server's VAD)
    :param record_audio_seconds: how much of the conversation's audio the browser keeps for `download_audio`
        (the newest; `0`: none)
    :param renewal: how the browser renews the session before its cap or after a drop (`Settings.renewal`):
        `maxConversationMs`, `replayTurns`, `replayChars`; `None`: the component's defaults
    :param budget: how many of its events Python handles (event_budget.py; default: its own)
    """

    def __init__(self, *, ws_url: str | None, model: str, session: dict, turn_detection: dict | None = None,
                 hands_free: bool = False, record_audio_seconds: float = 30 * 60, renewal: dict | None = None,
                 budget: EventBudget | None = None) -> None:
        super().__init__()
        self.ignores_events_when_hidden = False
        self._props['wsUrl'] = ws_url
        self._props['model'] = model
        self._props['session'] = session
        self._props['turnDetection'] = turn_detection
        self._props['handsFree'] = hands_free
        self._props['recordAudioSeconds'] = _record_seconds(record_audio_seconds)
        self._props['renewal'] = renewal or {}
        self.status = Status.IDLE  # the last status the browser reported (read-only mirror)
        self._handlers: dict[UiEvent, list[tuple[Callable, bool]]] = {name: [] for name in UiEvent}
        self.budget = budget or EventBudget()
        for name, handler in BATCHED.items():  # each event alone, or each entry of a batch, takes from the budget
            self.on(name, lambda e, handler=handler: self._budgeted(handler, e))
        self.on(UiEvent.BATCH, self._batch)

    # --- typed event registration ---

    def on_status(self, handler: Handler[StatusEventArguments]) -> RealtimeSession:
        return self._add(UiEvent.STATUS, handler)

    def on_server_event(self, handler: Handler[ServerEventArguments]) -> RealtimeSession:
        return self._add(UiEvent.SERVER_EVENT, handler)

    def on_transcript(self, handler: Handler[TranscriptEventArguments]) -> RealtimeSession:
        return self._add(UiEvent.TRANSCRIPT, handler)

    def on_error(self, handler: Handler[ErrorEventArguments]) -> RealtimeSession:
        return self._add(UiEvent.ERROR, handler)

    def on_notice(self, handler: Handler[NoticeEventArguments]) -> RealtimeSession:
        return self._add(UiEvent.NOTICE, handler)

    def on_token_wanted(self, handler: Handler[TokenWantedEventArguments]) -> RealtimeSession:
        return self._add(UiEvent.TOKEN_WANTED, handler)

    def on_latency(self, handler: Handler[LatencyEventArguments]) -> RealtimeSession:
        return self._add(UiEvent.LATENCY, handler)

    def on_devices(self, handler: Handler[DevicesEventArguments]) -> RealtimeSession:
        return self._add(UiEvent.DEVICES, handler)

    # --- commands (fire and forget: the browser answers through events) ---

    def provide_token(self, value: str, expires_at: float) -> None:
        """Answer `token_wanted` with a token (`expires_at`: Unix seconds); the browser holds it and connects with it
        on Start. An argument, never a prop: props are re-sent on every update."""
        self.run_method('provide_token', value, expires_at)

    def token_failed(self, message: str) -> None:
        """No token can be had: a waiting Start ends with `message` on the error channel."""
        self.run_method('token_failed', message)

    def remember_turns(self, turns: list[dict]) -> None:
        """The conversation so far, restored after a reload or failover (`[{role, text}]`): the browser's memory of it
        (session-renewal.js) tells the next Realtime session, so the agent remembers what the page shows."""
        self.run_method('remember_turns', turns)

    def start(self) -> None:
        """What the Start button does in the browser (for callers without a user gesture, e.g. tests)."""
        self.run_method('start')

    def stop(self) -> None:
        self.run_method('stop')

    def send_events(self, events: list[dict]) -> None:
        """Client events for the Realtime socket (e.g. a tool's `function_call_output`, then `response.create`)."""
        self.run_method('send_events', events)

    def close(self) -> None:
        """Tear down socket, mic tracks, worklets and the AudioContext."""
        self.run_method('close')

    def send_text(self, text: str) -> None:
        """What Send does in the browser: the typed message as a user turn (for callers without a gesture)."""
        self.run_method('send_text', text)

    def set_hands_free(self, on: bool) -> None:
        """What the Hands-free switch does in the browser (for callers without a gesture)."""
        self.run_method('set_hands_free', on)

    def update_session(self, session: dict, live: dict, turn_detection: dict) -> None:
        """Saved settings: `session` is the `session.update` body of every later connect, `live` the part the open
        session takes at once (the browser adds the mode's turn detection, and the voice where the API allows it),
        `turn_detection` hands-free mode's."""
        self._props['session'], self._props['turnDetection'] = session, turn_detection  # a re-sent element agrees
        self.run_method('update_session', session, live, turn_detection)

    def download_audio(self) -> None:
        """What Download audio does: the browser saves the conversation's audio it recorded as a WAV (user left, agent
        right). The file is made and saved in the browser; no audio comes here."""
        self.run_method('download_audio')

    def set_microphone(self, device_id: str) -> None:
        """What the Microphone select does in the browser: capture from this listed device from now on."""
        self.run_method('set_microphone', device_id)

    def show_microphone(self, device_id: str, label: str, *, level: ui.element, agent_level: ui.element) -> None:
        """Before the page is shown: the remembered input device, and the meters the browser draws the levels into."""
        self._props['microphone'] = {'deviceId': device_id, 'label': label,
                                     'meters': {'microphone': level.html_id, 'agent': agent_level.html_id}}

    def turn_button(self, button: ui.button, action: str) -> ui.button:
        """Makes `button` Start (`'start'`) or Stop (`'stop'`) Speaking, acting in the browser: on the primary mouse
        button's press (a held Start is hold-to-talk), on the click for touch, pen and keyboard (assets/press.js)."""
        if action not in TURN_BUTTONS:
            raise ValueError(f'a turn button starts or stops: {action!r}')
        for event, method in (('pointerdown', 'button_down'), ('click', 'button_click')):
            button.on(event, js_handler=f'(e) => {self.js_call(method, repr(action), "e")}')
        return button

    def js_call(self, method: str, *arguments: str) -> str:
        """JS that calls a component method directly inside a browser event handler (a user gesture);
        `arguments` are JS expressions (e.g. the handler's own parameter)."""
        return f'getElement({self.id}).{method}({", ".join(arguments)})'

    # --- event plumbing: every argument is checked, an unknown value becomes a safe default ---

    def _add(self, name: UiEvent, handler: Callable) -> RealtimeSession:
        self._handlers[name].append((handler, expects_arguments(handler)))  # inspected once, not per event
        return self

    def _emit(self, name: UiEvent, arguments: UiEventArguments) -> None:
        for handler, expect_args in self._handlers[name]:
            handle_event(handler, arguments, expect_args=expect_args)

    def _args(self, e: GenericEventArguments) -> dict:
        return e.args if isinstance(e.args, dict) else {}

    def _batch(self, e: GenericEventArguments) -> None:
        """The events of one short window (assets/python-link.js), handled in order as if each had come alone."""
        for entry in (e.args if isinstance(e.args, list) else [])[:MAX_BATCH_EVENTS]:
            known = isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and entry[0] in BATCHED
            event = GenericEventArguments(sender=self, client=self.client, args=entry[1]) if known else None
            if not self._budgeted(BATCHED[entry[0]] if known else None, event):
                return  # a flood: the rest of it is dropped (event_budget.py)

    def _budgeted(self, handler: str | None, e: GenericEventArguments | None) -> bool:
        """Handles one event if the page's budget allows (an unknown one still takes from it); False if not."""
        if not self.budget.take():
            return False
        try:
            if handler is not None and e is not None:
                getattr(self, handler)(e)
        finally:
            self.budget.handled()
        return True

    def _status(self, e: GenericEventArguments) -> None:
        args = self._args(e)
        status = _enum(Status, args.get('status'), None)
        if status is None:
            return
        self.status = status
        turn = args.get('turn')
        turn = turn if isinstance(turn, int) and not isinstance(turn, bool) else 0
        self._emit(UiEvent.STATUS, StatusEventArguments(sender=self, client=self.client, status=status, turn=turn))

    def _server_event(self, e: GenericEventArguments) -> None:
        event = self._args(e)
        if isinstance(event.get('type'), str):
            self._emit(UiEvent.SERVER_EVENT, ServerEventArguments(sender=self, client=self.client, event=event))

    def _transcript(self, e: GenericEventArguments) -> None:
        args = self._args(e)
        item_id = _str(args.get('item_id'), 256)
        if not item_id:
            return
        self._emit(UiEvent.TRANSCRIPT, TranscriptEventArguments(
            sender=self, client=self.client, item_id=item_id, role=_enum(Role, args.get('role'), Role.AGENT),
            delta=_str(args.get('delta')), replace=args.get('replace') is True, final=args.get('final') is True))

    def _error(self, e: GenericEventArguments) -> None:
        args = self._args(e)
        code = args.get('code')
        self._emit(UiEvent.ERROR, ErrorEventArguments(
            sender=self, client=self.client, source=_enum(ErrorSource, args.get('source'), ErrorSource.SERVER),
            code=_code(code), message=_str(args.get('message'), 1000)))

    def _notice(self, e: GenericEventArguments) -> None:
        args = self._args(e)
        kind = _enum(NoticeKind, args.get('kind'), None)
        if kind is not None:
            self._emit(UiEvent.NOTICE, NoticeEventArguments(sender=self, client=self.client, kind=kind,
                                                            message=_str(args.get('message'), 1000)))

    def _token_wanted(self, e: GenericEventArguments) -> None:
        reason = _enum(TokenReason, self._args(e).get('reason'), None)
        if reason is not None:
            self._emit(UiEvent.TOKEN_WANTED, TokenWantedEventArguments(sender=self, client=self.client, reason=reason))

    def _devices(self, e: GenericEventArguments) -> None:
        if (listed := devices_from(self._args(e))) is not None:
            self._emit(UiEvent.DEVICES, DevicesEventArguments(sender=self, client=self.client, devices=listed[0],
                                                              selected=listed[1]))

    def _latency(self, e: GenericEventArguments) -> None:
        args = self._args(e)
        latency = TurnLatency.from_event(args)
        if latency is None:
            return
        turn = args.get('turn')
        self._emit(UiEvent.LATENCY, LatencyEventArguments(
            sender=self, client=self.client, turn=turn if isinstance(turn, int) and not isinstance(turn, bool) else 0,
            item_id=_str(args.get('item_id'), 256) or None, response_id=_str(args.get('response_id'), 256) or None,
            latency=latency))
