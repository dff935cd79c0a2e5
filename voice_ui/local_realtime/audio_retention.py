"""How much conversation audio a session keeps: the newest, up to a byte budget; older items keep their text.

Audio in items is kept for what still needs it: the newest user turn (the agent hears it) and assistant audio a
client may truncate. Past the budget, older items lose their audio (as `truncation: auto` drops old context),
so a long session's memory stays flat while its transcripts remain.
"""
from __future__ import annotations

from .server_conversation import Item


def drop_old_audio(items: list[Item], budget: int) -> int:
    """Clear the audio of the oldest items beyond `budget` bytes; returns the bytes dropped. The newest user
    item and unfinished items always keep theirs."""
    newest_user = next((item for item in reversed(items) if item.role == 'user' and item.audio), None)
    kept = dropped = 0
    for item in reversed(items):
        if not item.audio:
            continue
        if item is newest_user or item.status == 'in_progress' or kept + len(item.audio) <= budget:
            kept += len(item.audio)
            continue
        dropped += len(item.audio)
        item.audio = b''
    return dropped
