"""Conversation state: a plain-Python reducer over the browser component's events.

Turns are ordered by conversation item (`previous_item_id`), not by arrival: a user transcript that finishes after
the agent began answering still sits before the reply. Plain Python, unit-testable without an app; the displayed
fields are NiceGUI bindable properties only so that bound labels update at once, unpolled.

Every input is untrusted (a browser relays a remote server): the reducer checks each field's type where it reads
it, never raises, never stores an id that is not a short string, keeps memory bounded, and costs O(1) per event
whatever the conversation's length (a dict finds the turn; new turns go last, an earlier place is sought from the end).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from itertools import islice
from dataclasses import field
from typing import Any

from nicegui.binding import bindable_dataclass

from .latency import LatencyWindow, TurnLatency
from .protocol import MIC_SILENT_CODE, ErrorCode, ErrorSource, ResponseStatus, Role, ServerEvent as S, Status
from .unicode_text import sendable
from .usage import Usage

USER, AGENT = Role.USER.value, Role.AGENT.value
TOOL = 'tool'  # a function_call item: the view shows a tool card, bound to the tool runner's record
# A cancel that raced the reply's natural end (barge-in just as it finished) is nothing to alarm anyone about.
BENIGN_ERRORS = {ErrorCode.CANCEL_NOT_ACTIVE}
ENDED_BADLY = {ResponseStatus.CANCELLED, ResponseStatus.INCOMPLETE, ResponseStatus.FAILED}
MAX_ID_CHARS = 256
MAX_TURN_CHARS = 200_000   # a runaway transcript is cut here (with an ellipsis) instead of growing without end
MAX_TURNS = 2_000          # the oldest turns leave first
MAX_CONVERSATION_CHARS = 5_000_000  # ...and when all turns' text passes this (else 2,000 cut turns: ~800 MB)
MAX_MESSAGE_CHARS = 500
LATENCY_SEARCH = 16  # the newest cards a latency without its item may go to
NOTHING_HEARD = 'no speech heard'


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _size(turn: Turn) -> int:
    return len(turn.text) + len(turn.replacing or '')


def _text(value: Any) -> str:
    return sendable(value) if isinstance(value, str) else ''  # the page must be able to send it to the browser


@bindable_dataclass(bindable_fields=['text', 'done', 'note', 'latency_label'])
class Turn:
    item_id: str
    role: str
    text: str = ''
    done: bool = False
    note: str = ''  # e.g. "transcription failed", "interrupted"
    at: float = field(default_factory=time.time)  # Unix seconds when the turn first appeared here
    latency: TurnLatency | None = None            # agent turns: the browser's figures for the turn it answers
    latency_label: str = ''
    replacing: str | None = field(default=None, repr=False)  # a done event's full text, while its parts arrive

    def set_text(self, text: str) -> None:
        self.text = text if len(text) <= MAX_TURN_CHARS else text[:MAX_TURN_CHARS] + '…'


TurnListener = Callable[[Turn, int], None]  # (turn, index) after it was inserted


@bindable_dataclass(bindable_fields=['status', 'error', 'notice', 'usage', 'latency_summary'])
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    status: str = Status.IDLE.value  # a mirror of the component's state machine; never decided here
    error: str = ''      # the last problem, shown in the banner until the next turn starts
    notice: str = ''     # a gentle hint (e.g. too-short turn), not an error
    usage: Usage = field(default_factory=Usage)
    latencies: LatencyWindow = field(default_factory=lambda: LatencyWindow(MAX_TURNS))  # O(log n) per figure
    latency_summary: str = ''  # median and p90 per stage, over the kept turns
    on_added: list[TurnListener] = field(default_factory=list, repr=False)
    on_removed: list[Callable[[Turn], None]] = field(default_factory=list, repr=False)
    on_changed: Callable[[], None] = field(default=lambda: None, repr=False)  # e.g. the transcript keeper's save
    _by_id: dict[str, Turn] = field(default_factory=dict, repr=False)
    _previous: dict[str, str] = field(default_factory=dict, repr=False)  # item id -> its previous item id
    _waiting: dict[str, str] = field(default_factory=dict, repr=False)   # previous item id -> the item placed first
    _chars: int = field(default=0, repr=False)  # text and replacing text of all turns

    def turn(self, item_id: Any) -> Turn | None:
        return self._by_id.get(item_id) if isinstance(item_id, str) else None

    # --- events of the browser component ---

    def apply(self, event: Any) -> None:
        """Fold in one (forwarded, audio-free) server event; anything malformed is ignored."""
        self.on_changed()
        event = _dict(event)
        kind = event.get('type')
        if kind in (S.ITEM_ADDED, S.ITEM_DONE):
            item = _dict(event.get('item'))
            role = item.get('role')
            if item.get('type', 'message') == 'message' and role in (USER, AGENT):
                turn = self._place(_id(item.get('id')), role, _id(event.get('previous_item_id')))
                if turn is not None:
                    before = _size(turn)
                    self._fill_from_item(turn, item)
                    self._grew(turn, before)
            elif item.get('type') == 'function_call':
                self._place(_id(item.get('id')), TOOL, _id(event.get('previous_item_id')))
        elif kind == S.OUTPUT_ITEM_DONE and _dict(event.get('item')).get('type') == 'function_call':
            self._place(_id(_dict(event.get('item')).get('id')), TOOL, None)  # if the item events were missed
        elif kind == S.INPUT_AUDIO_COMMITTED:
            self._place(_id(event.get('item_id')), USER, _id(event.get('previous_item_id')))
        elif kind == S.OUTPUT_ITEM_ADDED:
            item = _dict(event.get('item'))
            if item.get('type') == 'message':
                self._place(_id(item.get('id')), AGENT, None)
        elif kind == S.INPUT_TRANSCRIPTION_FAILED:
            turn = self._place(_id(event.get('item_id')), USER, None)
            if turn is not None:
                message = _text(_dict(event.get('error')).get('message'))[:MAX_MESSAGE_CHARS]
                turn.done, turn.note = True, 'transcription failed: ' + message
        elif kind == S.RESPONSE_DONE:
            self._finish_response(_dict(event.get('response')))
        elif kind == S.ITEM_TRUNCATED:
            turn = self.turn(event.get('item_id'))
            if turn is not None:
                turn.note = 'interrupted'
        elif kind == S.ITEM_DELETED:
            self._remove(self.turn(event.get('item_id')))

    def transcript(self, item_id: Any, role: Any, delta: Any, *, replace: bool = False, final: bool = False) -> None:
        """Coalesced transcript text of one item: appended (or replacing, for a done event's full text)."""
        self.on_changed()
        turn = self._place(_id(item_id), role if role in (USER, AGENT) else AGENT, None)
        if turn is None:
            return
        before, delta = _size(turn), _text(delta)
        if replace and delta:
            turn.replacing = delta  # shown once complete: the card never shrinks to the first part
        elif delta and turn.replacing is not None:
            if len(turn.replacing) < MAX_TURN_CHARS:
                turn.replacing += delta
        elif delta and len(turn.text) < MAX_TURN_CHARS:
            turn.set_text(turn.text + delta)
        if final and turn.replacing is not None:
            turn.set_text(turn.replacing)
            turn.replacing = None
        if final:
            turn.done = True
            if turn.role == USER and not turn.text.strip() and not turn.note:
                turn.note = NOTHING_HEARD  # a turn without speech: a note, not an empty card
        self._grew(turn, before)

    def record_latency(self, item_id: Any, latency: TurnLatency | None) -> None:
        """One turn's figures from the browser: on the reply's card (else the last agent card without any)."""
        if latency is None:
            return
        turn = self.turn(item_id)
        if turn is None or turn.role != AGENT:
            recent = islice(reversed(self.turns), LATENCY_SEARCH)  # not all cards per event: a flood costs O(1)
            turn = next((t for t in recent if t.role == AGENT and t.latency is None), None)
        if turn is not None and turn.latency is None:
            turn.latency, turn.latency_label = latency, latency.label()
        self.latencies.append(latency)
        self.latency_summary = self.latencies.summary_text()

    def set_status(self, status: Any) -> None:
        if not isinstance(status, str) or status not in Status._value2member_map_:
            return
        self.status = status
        if status in (Status.CONNECTING, Status.LISTENING):
            self.error = self.notice = ''

    def show_error(self, source: Any, code: Any, message: Any) -> None:
        """The one error channel: words a person can act on, from the component's `error` event."""
        code, message = _text(code)[:MAX_ID_CHARS], _text(message)[:MAX_MESSAGE_CHARS]
        if source == ErrorSource.MICROPHONE:
            self.error = microphone_error(code, message)
        elif source == ErrorSource.SOCKET:
            detail = f': {message}' if message else '.'
            self.error = f'The connection to the voice service closed (code {code or "unknown"}){detail}'
        elif source == ErrorSource.SERVER and code in BENIGN_ERRORS:
            return
        else:
            self.error = message or code or 'The voice service reported an error.'

    def reset(self) -> None:
        self.on_changed()
        for turn in list(self.turns):
            self._remove(turn)
        self.status, self.error, self.notice, self.latency_summary = Status.IDLE.value, '', '', ''
        self.latencies.clear()
        self._previous.clear()
        self._waiting.clear()

    # --- helpers ---

    def _place(self, item_id: str | None, role: str, previous_item_id: str | None) -> Turn | None:
        """The item's turn, placed after its previous item (or before one waiting for it), else last; it moves
        only when a new, different previous item is learnt."""
        if item_id is None:
            return None
        turn = self._by_id.get(item_id)
        if turn is not None:
            if previous_item_id is None or previous_item_id == item_id \
                    or self._previous.get(item_id) == previous_item_id:
                return turn
            self._detach(turn)
        else:
            turn = Turn(item_id, role)
            self._by_id[item_id] = turn
        if previous_item_id and previous_item_id != item_id:
            self._previous[item_id] = previous_item_id
            self._waiting.setdefault(previous_item_id, item_id)
        index = self._index_for(item_id, previous_item_id)
        self.turns.insert(index, turn)
        for listener in self.on_added:
            listener(turn, index)
        if len(self.turns) > MAX_TURNS:
            self._remove(self.turns[0])
        return turn

    def _index_for(self, item_id: str, previous_item_id: str | None) -> int:
        successor = self._by_id.get(self._waiting.get(item_id, ''))
        if successor is not None and successor.item_id != item_id:  # a reply that arrived before its user turn
            return self._position(successor)
        previous = self._by_id.get(previous_item_id or '')
        if previous is not None:
            return self._position(previous) + 1
        return len(self.turns)

    def _position(self, turn: Turn) -> int:
        """Index of a turn, searched from the end: the turns an event refers to are nearly always the last few."""
        for i in range(len(self.turns) - 1, -1, -1):
            if self.turns[i] is turn:
                return i
        return len(self.turns)

    def _detach(self, turn: Turn) -> None:
        index = self._position(turn)
        if index < len(self.turns):
            del self.turns[index]
            for listener in self.on_removed:
                listener(turn)

    def _grew(self, turn: Turn, before: int) -> None:
        """Count a turn's new text; past the conversation's bound the oldest other turns leave."""
        self._chars += _size(turn) - before
        while self._chars > MAX_CONVERSATION_CHARS and len(self.turns) > 1:
            self._remove(self.turns[0] if self.turns[0] is not turn else self.turns[1])

    def _remove(self, turn: Turn | None) -> None:
        if turn is None:
            return
        self._chars -= _size(turn)
        self._detach(turn)
        self._by_id.pop(turn.item_id, None)
        previous = self._previous.pop(turn.item_id, None)
        if previous is not None and self._waiting.get(previous) == turn.item_id:
            del self._waiting[previous]

    def _fill_from_item(self, turn: Turn, item: dict) -> None:
        content = item.get('content')
        for part in content if isinstance(content, list) else []:
            part = _dict(part)
            text = _text(part.get('text')) or _text(part.get('transcript'))
            if text and not turn.text:
                turn.set_text(text)
        if item.get('status') == 'completed' and turn.role == USER and turn.text:
            turn.done = True

    def _finish_response(self, response: dict) -> None:
        status = _text(response.get('status'))
        usage = response.get('usage')
        if isinstance(usage, dict) and usage:
            self.usage = self.usage.plus(usage)
        output = response.get('output')
        for item in output if isinstance(output, list) else []:
            turn = self.turn(_dict(item).get('id'))
            if turn is not None:
                turn.done = True
                if status in ENDED_BADLY:
                    turn.note = status
        if status == ResponseStatus.FAILED:
            error = _dict(_dict(response.get('status_details')).get('error'))
            self.error = _text(error.get('message'))[:MAX_MESSAGE_CHARS] or 'The response failed.'


def microphone_error(name: str, message: str) -> str:
    if name in ('NotAllowedError', 'SecurityError'):
        return 'Microphone access was denied. Allow the microphone for this page, then Start Speaking again.'
    if name in ('NotFoundError', 'OverconstrainedError'):
        return 'No microphone was found. Connect one, then Start Speaking again.'
    if name == MIC_SILENT_CODE:
        return 'The microphone opened but sends no sound. Check it is not muted or in use, then Start Speaking again.'
    return f'The microphone could not be opened: {message or name}'
