"""Where a tab's transcript is kept between page loads: in this process, or in Redis shared by every replica.

A reload — or a replica that dies and the balancer sending the tab to another — renders the page anew; the keeper
(`transcript_keeper.py`) then restores the conversation so far from here. What is kept, and who can read it:

- One entry per (sign-in, browser tab): the key is a hash of the sign-in's session id (a secret, or the person's
  limit key when a proxy signs in or nobody does) and NiceGUI's tab id (random, kept in the tab's
  sessionStorage across reloads). A page can only ever name its own sign-in, because the socket guard binds a
  page's socket to the sign-in it was rendered for; after a logout the new sign-in reaches none of the old entries,
  and those are deleted.
- Bounded: the newest `MAX_TURNS` turns and `MAX_CHARS` characters of text per tab, `MAX_TABS` tabs per sign-in (the
  oldest written goes), an expiry `KEEP_S` after the last write. The memory side also caps its number of entries.
- A snapshot is plain JSON (role, text, done, note, time per turn); everything read back is checked again.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from collections import OrderedDict
from typing import Any, Protocol

from .unicode_text import sendable

PREFIX = 'voice_ui:'
MAX_TURNS, MAX_CHARS = 200, 100_000
MAX_TABS = 20              # per sign-in
MAX_ENTRIES = 2_000        # memory side, over everyone
KEEP_S = 12 * 3600
TAB_ID = re.compile(r'[A-Za-z0-9-]{8,64}')
ROLES = ('user', 'assistant')


def entry_key(scope: str, tab_id: Any) -> str | None:
    """The entry of one sign-in's tab, or None when the tab id is not one NiceGUI makes (then nothing is kept)."""
    if not scope or not isinstance(tab_id, str) or not TAB_ID.fullmatch(tab_id):
        return None
    return hashlib.sha256(f'{scope}\n{tab_id}'.encode()).hexdigest()


def scope_key(scope: str) -> str:
    return hashlib.sha256(f'{scope}\n'.encode()).hexdigest()


def bounded(turns: list[dict]) -> list[dict]:
    """The newest turns that fit the caps, each checked and cut to the text that is left."""
    kept, chars = [], 0
    for turn in reversed(turns[-MAX_TURNS:]):
        turn = checked(turn)
        if turn is None:
            continue
        room = MAX_CHARS - chars
        if room <= 0:
            break
        turn['text'] = turn['text'][-room:] if len(turn['text']) > room else turn['text']
        chars += len(turn['text']) + len(turn['note'])
        kept.append(turn)
    return kept[::-1]


def checked(turn: Any) -> dict | None:
    if not isinstance(turn, dict) or turn.get('role') not in ROLES:
        return None
    text, note, at = turn.get('text'), turn.get('note', ''), turn.get('at', 0.0)
    if not isinstance(text, str) or not isinstance(note, str) or not isinstance(at, (int, float)) \
            or isinstance(at, bool):
        return None
    return {'role': turn['role'], 'text': sendable(text), 'done': turn.get('done') is True,
            'note': sendable(note[:500]), 'at': float(at) if 0 <= at < 1e11 else 0.0}


def encode(turns: list[dict]) -> str:
    return json.dumps({'v': 1, 'turns': bounded(turns)}, ensure_ascii=False, separators=(',', ':'))


def decode(raw: str | bytes | None) -> list[dict]:
    """Turns from a stored snapshot; anything unreadable is an empty conversation, never an exception."""
    if not raw or len(raw) > 8 * MAX_CHARS:
        return []
    try:
        data = json.loads(raw)
    except (ValueError, TypeError):
        return []
    turns = data.get('turns') if isinstance(data, dict) and data.get('v') == 1 else None
    return bounded(turns) if isinstance(turns, list) else []


class TranscriptStore(Protocol):
    def save(self, scope: str, key: str, turns: list[dict]) -> None: ...   # no turns: the entry goes
    def load(self, key: str) -> list[dict]: ...
    def forget(self, scope: str) -> None: ...                                # every tab of a sign-in


class MemoryTranscripts:
    """One replica's entries, oldest written first; everything expires and the counts are capped."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, str, str]] = OrderedDict()  # key -> (expiry, scope, snapshot)
        self._by_scope: dict[str, OrderedDict[str, None]] = {}  # scope -> its keys, oldest written first

    def save(self, scope: str, key: str, turns: list[dict]) -> None:
        self._drop(key)
        if not turns:
            return
        owner = scope_key(scope)
        mine = self._by_scope.setdefault(owner, OrderedDict())
        while len(mine) >= MAX_TABS:
            self._drop(next(iter(mine)))
        self._entries[key] = (self.clock() + KEEP_S, owner, encode(turns))
        self._by_scope.setdefault(owner, OrderedDict())[key] = None
        while len(self._entries) > MAX_ENTRIES:
            self._drop(next(iter(self._entries)))

    def load(self, key: str) -> list[dict]:
        expires, _, raw = self._entries.get(key, (0.0, '', ''))
        if expires <= self.clock():
            self._drop(key)
            return []
        return decode(raw)

    def forget(self, scope: str) -> None:
        for key in list(self._by_scope.get(scope_key(scope), ())):
            self._drop(key)

    def _drop(self, key: str) -> None:
        _, owner, _ = self._entries.pop(key, (0.0, '', ''))
        mine = self._by_scope.get(owner)
        if mine is not None:
            mine.pop(key, None)
            if not mine:
                del self._by_scope[owner]


class RedisTranscripts:
    """Entries in Redis for every replica: `transcript:<key>` holds the snapshot, `transcripts:<scope>` a sorted set of
    the sign-in's entries by write time (for the per-sign-in cap and for logout); both expire."""

    def __init__(self, client) -> None:
        self.redis = client

    def save(self, scope: str, key: str, turns: list[dict]) -> None:
        index = f'{PREFIX}transcripts:{scope_key(scope)}'
        entry = f'{PREFIX}transcript:{key}'
        if not turns:
            self.redis.pipeline().delete(entry).zrem(index, key).execute()
            return
        pipe = self.redis.pipeline()
        pipe.set(entry, encode(turns), ex=KEEP_S).zadd(index, {key: time.time()}).expire(index, KEEP_S)
        pipe.zrange(index, 0, -(MAX_TABS + 1))  # the sign-in's oldest entries beyond the cap
        extra = pipe.execute()[-1]
        if extra:
            self.redis.pipeline().delete(*[f'{PREFIX}transcript:{k.decode()}' for k in extra]) \
                .zrem(index, *extra).execute()

    def load(self, key: str) -> list[dict]:
        return decode(self.redis.get(f'{PREFIX}transcript:{key}'))

    def forget(self, scope: str) -> None:
        index = f'{PREFIX}transcripts:{scope_key(scope)}'
        keys = self.redis.zrange(index, 0, -1)
        self.redis.delete(index, *[f'{PREFIX}transcript:{k.decode()}' for k in keys])
