"""What the page shows when the browser renews the Realtime session (assets/session-renewal.js owns the renewal).

The browser is the one that knows: it renews the session before its cap or after a drop and replays the
conversation so far into the new one; Python is told through a notice. A `reconnected` notice is shown like any
other hint and also stays as a note on the last card (the hint goes away when the next turn starts; the note marks
where in the transcript the new session began). A `conversation_limit` notice says the conversation ended.
"""
from __future__ import annotations

from typing import Any

from .conversation import AGENT, MAX_MESSAGE_CHARS, USER, Conversation
from .protocol import NoticeKind

RECONNECTED_NOTE = 'reconnected'


def show_notice(conversation: Conversation, kind: Any, message: Any) -> None:
    """The component's `notice` event: a hint (never the error banner), and for a renewal the transcript's note."""
    conversation.notice = message[:MAX_MESSAGE_CHARS] if isinstance(message, str) else ''
    if kind != NoticeKind.RECONNECTED:
        return
    last = next((turn for turn in reversed(conversation.turns) if turn.role in (USER, AGENT)), None)
    if last is not None and RECONNECTED_NOTE not in last.note:
        last.note = f'{last.note} · {RECONNECTED_NOTE}' if last.note else RECONNECTED_NOTE
