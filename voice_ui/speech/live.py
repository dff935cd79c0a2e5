"""Recognition while the user speaks: the audio of one user item is cut at pauses and each piece is decoded once,
in a worker thread, as soon as the pause is heard. At commit only what follows the last decoded piece is left.

Pieces are cut only in silence (an energy detector, like `server_vad`'s, with a short pause), so Whisper never
sees half a word; each piece is decoded with the text before it as its prompt, which keeps the final transcript
as good as one decode of the whole turn (see benchmarks/speech_latency.py for the WER on the test recordings).
The committed audio is matched against what was heard byte for byte: a piece is reused only when its exact
audio is inside the commit; otherwise the whole turn is decoded as before.

Without live captions (the default) the same pauses drive an early decode instead: at each pause the whole turn
so far (first piece's start to the pause) is decoded as one, and at commit that text is the transcript when the
commit holds no speech beyond it (the user paused, then released the button or the server VAD ended the turn).
One decode of the whole turn, as at commit, so the WER is the same; only started sooner.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..local_realtime.vad import EnergyVad
from ..protocol import BYTES_PER_MS

PAUSE_MS = 240            # a pause this long closes a piece (a turn's end is >= 500 ms in server_vad)
PAD_MS = 200              # audio kept before a piece's first voiced frame
PROBE_BYTES = 100 * BYTES_PER_MS  # 100 ms of the commit locate it in what was heard
MAX_HEARD_BYTES = 120_000 * BYTES_PER_MS  # two minutes per item; beyond that the item is decoded at commit
MAX_ITEMS = 64            # items heard but never committed (cleared, abandoned) age out
PROMPT_CHARS = 200


@dataclass
class Piece:
    start: int  # byte range in the item's heard audio
    end: int
    text: str = ''


@dataclass
class HeardItem:
    """One user item's audio as it arrived, its detector, and the pieces decoded so far."""
    audio: bytearray = field(default_factory=bytearray)
    vad: EnergyVad = field(default_factory=lambda: EnergyVad(0.5, PAD_MS, PAUSE_MS))
    open_start: int | None = None
    pending: list[Piece] = field(default_factory=list)
    decoded: list[Piece] = field(default_factory=list)
    overflowed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    early: Piece | None = None  # the whole turn so far, decoded at its latest pause (early_transcript)

    def feed(self, pcm: bytes) -> None:
        if self.overflowed or len(self.audio) + len(pcm) > MAX_HEARD_BYTES:
            self.overflowed, self.audio, self.pending = True, bytearray(), []
            return
        self.audio += pcm
        for change in self.vad.feed(pcm):
            if change.kind == 'started':
                self.open_start = change.ms * BYTES_PER_MS
            elif self.open_start is not None:
                self.pending.append(Piece(self.open_start, min(change.ms * BYTES_PER_MS, len(self.audio))))
                self.open_start = None

    def prompt(self, session_prompt: str | None) -> str | None:
        before = ' '.join(piece.text for piece in self.decoded if piece.text)[-PROMPT_CHARS:]
        joined = ' '.join(part for part in (session_prompt or '', before) if part)
        return joined or None

    def reusable(self, committed: bytes) -> tuple[list[Piece], int] | None:
        """The decoded pieces whose audio lies inside `committed`, and where that audio begins in what was heard
        (negative when the commit starts with audio this item never heard, e.g. VAD padding). None: no match."""
        if not self.decoded:
            return None
        begin = self.locate(committed)
        if begin is None:
            return None
        end = begin + len(committed)
        pieces = [piece for piece in self.decoded if piece.start >= max(begin, 0) and piece.end <= end]
        return (pieces, begin) if pieces else None

    def early_transcript(self, committed: bytes) -> str | None:
        """The early decode's text when it covers all the speech of `committed`: its audio lies inside the commit
        and what the commit holds before and after it is silence. None: decode the turn."""
        early = self.early
        begin = None if early is None else self.locate(committed)
        if begin is None or early.start < max(begin, 0) or early.end > begin + len(committed):
            return None
        head, tail = committed[:early.start - begin], committed[early.end - begin:]
        return None if has_speech(head) or has_speech(tail) else early.text

    def locate(self, committed: bytes) -> int | None:
        """Where `committed` begins in what was heard, when all of it that was heard matches byte for byte."""
        if self.overflowed or len(committed) < PROBE_BYTES:
            return None
        at = loudest_window(committed)  # silence is everywhere; the loudest 100 ms of speech is found once
        found = self.audio.find(committed[at:at + PROBE_BYTES])
        if found < 0:
            return None
        begin = found - at
        end = begin + len(committed)
        if end > len(self.audio):
            return None
        overlap = max(begin, 0)
        return begin if self.audio[overlap:end] == committed[overlap - begin:] else None

    def turn_so_far(self) -> tuple[int, int] | None:
        """For the early decode: the byte range from the first piece's start to the latest pause, when a pause
        closed a piece since the last early decode (pending pieces are folded into `decoded` untranscribed)."""
        self.decoded += self.pending
        self.pending = []
        if not self.decoded or (self.early is not None and self.early.end >= self.decoded[-1].end):
            return None
        return self.decoded[0].start, self.decoded[-1].end


class LiveHearing:
    """Every item being heard, by item id (ids are unique per server, so one table serves all sessions)."""

    def __init__(self) -> None:
        self.items: OrderedDict[str, HeardItem] = OrderedDict()

    def item(self, item_id: str) -> HeardItem:
        heard = self.items.get(item_id)
        if heard is None:
            heard = self.items[item_id] = HeardItem()
            while len(self.items) > MAX_ITEMS:
                self.items.popitem(last=False)
        return heard

    def pop(self, item_id: str) -> HeardItem | None:
        return self.items.pop(item_id, None)


def loudest_window(pcm: bytes) -> int:
    """Byte offset of the loudest whole `PROBE_BYTES` window of `pcm` (which holds at least one)."""
    windows = len(pcm) // PROBE_BYTES
    samples = np.frombuffer(pcm[:windows * PROBE_BYTES], dtype='<i2').astype(np.float32)
    energy = np.square(samples).reshape(windows, -1).sum(axis=1)
    return int(np.argmax(energy)) * PROBE_BYTES


def has_speech(pcm: bytes) -> bool:
    """Whether `pcm` holds a voiced stretch the detector would call speech (so it needs decoding)."""
    return any(change.kind == 'started' for change in EnergyVad(0.5, 0, 1 << 30).feed(pcm))
