"""One page's transcript, kept across reloads and replica failover (`conversation_store.py` says where and for whom).

    keeper = TranscriptKeeper(store, conversation, scope=identity.session_id or identity.key, client=client,
                              remember=session.remember_turns)

- Restore: once the tab's socket is bound (NiceGUI then knows the tab id, kept in sessionStorage across reloads),
  the stored turns come back as done cards, before anything new, with a notice. The Realtime conversation lived in
  the old page, so the turns also go to the browser (`remember`), which replays them into the next voice session
  as GA items: the agent remembers what the page shows (unless replay is off: VOICE_UI_REPLAY_TURNS=0).
- Save: coalesced, never per delta. A change only marks the page dirty; one write per `FLUSH_S` carries everything
  since, so a replica that dies abruptly loses at most that last moment. Close Session (a reset) deletes the entry.
- Redis calls run off the event loop; a failed one is logged and retried with the next change, never raised into
  the page.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from nicegui import Client, background_tasks

from .conversation import AGENT, USER, Conversation
from .conversation_store import MAX_TURNS, TranscriptStore, entry_key
from .protocol import RESTORED_ITEM_PREFIX as RESTORED

log = logging.getLogger('voice_ui.transcripts')
FLUSH_S = 1.0
RESTORED_NOTE = 'The conversation so far was restored.'
NOTICE = f'{RESTORED_NOTE} The voice session starts anew and is told it when it begins.'
NOTICE_FORGOTTEN = f'{RESTORED_NOTE} The voice session starts anew: the agent does not remember it.'


class TranscriptKeeper:
    def __init__(self, store: TranscriptStore, conversation: Conversation, scope: str, client: Client,
                 flush_s: float = FLUSH_S, remember: Callable[[list[dict]], None] | None = None) -> None:
        self.store, self.conversation, self.scope, self.client = store, conversation, scope, client
        self.remember = remember  # None: the restored turns are shown only (no replay into the voice session)
        self.flush_s = flush_s
        self.key: str | None = None  # known once the socket is bound
        self._dirty = self._flushing = self._restoring = False
        conversation.on_changed = self.changed
        client.on_connect(self._on_connect)

    async def _on_connect(self) -> None:
        if self.key is not None:
            return  # a reconnect of the same page: nothing to restore, keep saving
        self.key = entry_key(self.scope, self.client.tab_id)
        if self.key is None:
            return
        try:
            turns = await asyncio.to_thread(self.store.load, self.key)
        except Exception as error:  # noqa: BLE001 - shared state away: the page works, just without its history
            log.warning('could not restore a transcript: %s', type(error).__name__)
            return
        self.restore(turns)
        if self._dirty:
            self._schedule()

    def restore(self, turns: list[dict]) -> None:
        """The stored turns as done cards, each with its note and time, then the notice."""
        if not turns:
            return
        conv, self._restoring = self.conversation, True
        try:
            for index, saved in enumerate(turns[-MAX_TURNS:]):
                item_id = f'{RESTORED}{index}'
                conv.transcript(item_id, saved['role'], saved['text'], final=True)
                restored = conv.turn(item_id)
                if restored is not None:
                    restored.note, restored.at = saved['note'] or restored.note, saved['at'] or restored.at
            conv.notice = conv.notice or (NOTICE if self.remember else NOTICE_FORGOTTEN)
        finally:
            self._restoring = False
        if self.remember:  # what the cards now show, as text (restored ids: their echoes merge into nothing new)
            self.remember([{'role': t.role, 'text': t.text} for t in self.conversation.turns
                           if t.item_id.startswith(RESTORED) and t.role in (USER, AGENT) and t.text])

    def snapshot(self) -> list[dict]:
        return [{'role': t.role, 'text': t.replacing if t.replacing is not None else t.text, 'done': t.done,
                 'note': t.note, 'at': t.at} for t in self.conversation.turns if t.role in (USER, AGENT)]

    def changed(self) -> None:
        """Something in the conversation changed: one write soon carries it (and whatever follows meanwhile)."""
        self._dirty = True
        if self.key is not None and not self._flushing and not self._restoring:
            self._schedule()

    def _schedule(self) -> None:
        self._flushing = True
        background_tasks.create(self._flush_soon(), name='transcript-flush')

    async def _flush_soon(self) -> None:
        try:
            await asyncio.sleep(self.flush_s)
            await self.flush()
        finally:
            self._flushing = False
        if self._dirty and not self.client.is_deleted:
            self._schedule()  # changed while the write was on its way

    async def flush(self) -> None:
        if self.key is None or not self._dirty:
            return
        self._dirty = False
        try:
            await asyncio.to_thread(self.store.save, self.scope, self.key, self.snapshot())
        except Exception as error:  # noqa: BLE001 - Redis away: keep the page working, write with the next change
            log.warning('could not keep a transcript: %s', type(error).__name__)
