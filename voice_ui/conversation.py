"""Conversation state: a plain-Python reducer over Realtime server events and the browser component's events.

Turns are ordered by conversation item (`previous_item_id`), not by arrival: a user transcript that finishes
after the agent began answering still sits before the reply. The logic is plain Python, unit-testable without
an app; the displayed fields are NiceGUI bindable properties only so that bound labels update at once, unpolled.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nicegui.binding import bindable_dataclass

from .protocol import ErrorCode, ResponseStatus, ServerEvent as S

USER, AGENT = 'user', 'assistant'
TRANSCRIPT_DELTAS = {S.INPUT_TRANSCRIPTION_DELTA, S.OUTPUT_AUDIO_TRANSCRIPT_DELTA, S.OUTPUT_TEXT_DELTA}
# A cancel that raced the reply's natural end (barge-in just as it finished) is nothing to alarm anyone about.
BENIGN_ERRORS = {ErrorCode.CANCEL_NOT_ACTIVE}
TRANSCRIPT_DONE = {S.INPUT_TRANSCRIPTION_COMPLETED: 'transcript', S.OUTPUT_AUDIO_TRANSCRIPT_DONE: 'transcript',
                   S.OUTPUT_TEXT_DONE: 'text'}


@bindable_dataclass(bindable_fields=['text', 'done', 'note'])
class Turn:
    item_id: str
    role: str
    text: str = ''
    done: bool = False
    note: str = ''  # e.g. "transcription failed", "interrupted"


@dataclass(frozen=True)
class Usage:
    """Totals over all `response.done` events; replaced, never mutated, so bindings see each change."""
    input_tokens: int = 0
    output_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    responses: int = 0

    def plus(self, usage: dict) -> Usage:
        audio_in = (usage.get('input_token_details') or {}).get('audio_tokens') or 0
        audio_out = (usage.get('output_token_details') or {}).get('audio_tokens') or 0
        return Usage(self.input_tokens + (usage.get('input_tokens') or 0),
                     self.output_tokens + (usage.get('output_tokens') or 0),
                     self.input_audio_tokens + audio_in, self.output_audio_tokens + audio_out, self.responses + 1)


@bindable_dataclass(bindable_fields=['status', 'error', 'notice', 'usage'])
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    status: str = 'idle'
    error: str = ''      # the last problem, shown in the banner until the next successful step
    notice: str = ''     # a gentle hint (e.g. too-short turn), not an error
    usage: Usage = field(default_factory=Usage)
    _anchors: dict[str, str] = field(default_factory=dict, repr=False)  # item id -> its previous item id

    def turn(self, item_id: str) -> Turn | None:
        return next((t for t in self.turns if t.item_id == item_id), None)

    # --- Realtime server events (forwarded by the browser component, audio stripped) ---

    def apply(self, event: dict) -> Turn | None:
        """Fold one server event in. Returns the turn it created, if any (the page adds a card for it)."""
        kind = event.get('type')
        if kind in (S.ITEM_ADDED, S.ITEM_DONE):
            item = event.get('item') or {}
            if item.get('type', 'message') == 'message' and item.get('role') in (USER, AGENT):
                created = self._place(item['id'], item['role'], event.get('previous_item_id'))
                self._fill_from_item(item)
                return created
        elif kind == S.INPUT_AUDIO_COMMITTED:
            return self._place(event['item_id'], USER, event.get('previous_item_id'))
        elif kind == S.OUTPUT_ITEM_ADDED:
            item = event.get('item') or {}
            if item.get('type') == 'message':
                return self._place(item['id'], AGENT, None)
        elif kind in TRANSCRIPT_DELTAS:
            created = self._ensure(event['item_id'], USER if kind == S.INPUT_TRANSCRIPTION_DELTA else AGENT)
            self.turn(event['item_id']).text += event.get('delta') or ''
            return created
        elif kind in TRANSCRIPT_DONE:
            created = self._ensure(event['item_id'], USER if kind == S.INPUT_TRANSCRIPTION_COMPLETED else AGENT)
            turn = self.turn(event['item_id'])
            turn.text, turn.done = event.get(TRANSCRIPT_DONE[kind]) or turn.text, True
            return created
        elif kind == S.INPUT_TRANSCRIPTION_FAILED:
            created = self._ensure(event['item_id'], USER)
            turn = self.turn(event['item_id'])
            turn.done, turn.note = True, 'transcription failed: ' + ((event.get('error') or {}).get('message') or '')
            return created
        elif kind == S.RESPONSE_DONE:
            self._finish_response(event.get('response') or {})
        elif kind == S.ITEM_TRUNCATED and self.turn(event.get('item_id', '')):
            self.turn(event['item_id']).note = 'interrupted'
        elif kind == S.ITEM_DELETED:
            self.turns = [t for t in self.turns if t.item_id != event.get('item_id')]
        elif kind == S.ERROR and (event.get('error') or {}).get('code') not in BENIGN_ERRORS:
            error = event.get('error') or {}
            self.error = error.get('message') or error.get('code') or 'The voice service reported an error.'
        return None

    # --- events of the browser component itself ---

    def set_status(self, status: str) -> None:
        self.status = status
        if status in ('connecting', 'listening'):
            self.error = self.notice = ''

    def socket_closed(self, code: int, reason: str) -> None:
        self.status = 'closed'
        if code not in (1000, 1005):  # 1005: closed by us without a status (Close Session)
            detail = f': {reason}' if reason else '.'
            self.error = f'The connection to the voice service closed (code {code}){detail}'

    def mic_error(self, name: str, message: str) -> None:
        self.status = 'error'
        if name in ('NotAllowedError', 'SecurityError'):
            self.error = 'Microphone access was denied. Allow the microphone for this page, then Start Speaking again.'
        elif name in ('NotFoundError', 'OverconstrainedError'):
            self.error = 'No microphone was found. Connect one, then Start Speaking again.'
        else:
            self.error = f'The microphone could not be opened: {message or name}'

    def fail(self, message: str) -> None:
        self.status, self.error = 'error', message

    def reset(self) -> None:
        self.turns, self.status, self.error, self.notice = [], 'idle', '', ''
        self._anchors.clear()

    # --- helpers ---

    def _place(self, item_id: str, role: str, previous_item_id: str | None) -> Turn | None:
        """Insert a turn after its previous item (or before an item already waiting for it), else last."""
        turn = self.turn(item_id)
        if turn is not None:
            if previous_item_id is None or self._anchors.get(item_id) == previous_item_id:
                return None
            self.turns.remove(turn)
        if previous_item_id:
            self._anchors[item_id] = previous_item_id
        created = turn is None
        turn = turn or Turn(item_id, role)
        self.turns.insert(self._index_for(item_id, previous_item_id), turn)
        return turn if created else None

    def _index_for(self, item_id: str, previous_item_id: str | None) -> int:
        for i, t in enumerate(self.turns):
            if self._anchors.get(t.item_id) == item_id:  # a reply that arrived before its user turn
                return i
        for i, t in enumerate(self.turns):
            if t.item_id == previous_item_id:
                return i + 1
        return len(self.turns)

    def _ensure(self, item_id: str, role: str) -> Turn | None:
        return self._place(item_id, role, None) if self.turn(item_id) is None else None

    def _fill_from_item(self, item: dict) -> None:
        turn = self.turn(item['id'])
        for part in item.get('content') or []:
            text = part.get('text') or part.get('transcript')
            if text and not turn.text:
                turn.text = text
        if item.get('status') == 'completed' and turn.role == USER and turn.text:
            turn.done = True

    def _finish_response(self, response: dict) -> None:
        status = response.get('status')
        if response.get('usage'):
            self.usage = self.usage.plus(response['usage'])
        for item in response.get('output') or []:
            turn = self.turn(item.get('id', ''))
            if turn is not None:
                turn.done = True
                if status in (ResponseStatus.CANCELLED, ResponseStatus.INCOMPLETE, ResponseStatus.FAILED):
                    turn.note = status
        if status == ResponseStatus.FAILED:
            error = ((response.get('status_details') or {}).get('error') or {})
            self.error = error.get('message') or 'The response failed.'
