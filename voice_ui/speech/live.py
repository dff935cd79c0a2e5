"""Recognition while the user speaks: the turn so far is decoded again and again as its audio arrives, and the
words two decodes in a row agree on are shown at once (the LocalAgreement policy of whisper_streaming, Machacek
et al. 2023). At a pause the turn so far is decoded whole, and a commit whose speech ends there takes that text
as its transcript without decoding anything more.

Why this shape:
- Whisper has no streaming mode, but a short turn re-decoded from its start costs the same each time (the short
  window, short_decode.py: ~0.2 s on 2 cores), and a word that two decodes of growing audio agree on rarely
  changes again. Captions are append-only (GA transcription deltas cannot take a word back), so only agreed words
  are sent, and a word is never sent twice.
- The transcript at commit is always one decode of the whole turn (the pause's, or one at commit), so its word
  error rate is that of decoding at commit. The pause's decode uses the short window: its audio ends in silence,
  the case the short window decodes as well as the full one (it can lose a word only on speech cut mid-word).
- Interim decodes are a bonus paid from spare CPU: one per item at a time, none while the recognizer is busy with
  other work (another session's commit comes first), and not for turns past the short window's length.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..local_realtime.server_conversation import agreement, held_punctuation
from ..local_realtime.vad import EnergyVad
from ..protocol import BYTES_PER_MS
from .short_decode import MAX_SHORT_S

PAUSE_MS = 240            # a pause this long gets the turn decoded whole (a turn's end is >= 500 ms in server_vad)
PAD_MS = 200              # audio kept before the first voiced frame
STEP_MS = 200             # new audio between two interim decodes (each costs ~0.4 s CPU on 2 cores)
FIRST_MS = 300            # audio from the speech's start (its padding included) before the first interim decode
QUIET_MS = 100            # silence that stops interim decodes: the pause's decode must not wait behind one
MAX_INTERIM_BYTES = int(MAX_SHORT_S * 1000) * BYTES_PER_MS  # longer turns get captions at pauses only
PROBE_BYTES = 100 * BYTES_PER_MS  # 100 ms of the commit locate it in what was heard
MAX_HEARD_BYTES = 120_000 * BYTES_PER_MS  # two minutes per item; beyond that the item is decoded at commit
MAX_ITEMS = 64            # items heard but never committed (cleared, abandoned) age out
PUNCTUATION = '.,!?;:'    # what a longer hearing may still change at the end of the last word shown


@dataclass(frozen=True)
class Span:
    """A stretch of the item's heard audio to decode (bytes); `settled`: it ends in a pause, so it is final."""
    start: int
    end: int
    settled: bool


@dataclass
class HeardItem:
    """One user item's audio as it arrived, its detector, its latest decodes and the words already shown."""
    audio: bytearray = field(default_factory=bytearray)
    vad: EnergyVad = field(default_factory=lambda: EnergyVad(0.5, PAD_MS, PAUSE_MS))
    speech_start: int | None = None   # where the first speech (with its padding) begins
    pause_end: int = 0                # where the latest pause was heard (its silence included)
    decoded_to: int = 0               # the end of the latest decode started
    previous: list[str] = field(default_factory=list)  # the words of the latest interim decode
    shown: list[str] = field(default_factory=list)     # words sent as captions, in order
    sent_last: str = ''               # the last shown word as sent: without its punctuation, which may change
    settled: tuple[Span, str] | None = None  # the latest pause's decode: the transcript if the turn ends there
    overflowed: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def feed(self, pcm: bytes) -> None:
        if self.overflowed or len(self.audio) + len(pcm) > MAX_HEARD_BYTES:
            self.overflowed, self.audio, self.settled = True, bytearray(), None
            return
        self.audio += pcm
        for change in self.vad.feed(pcm):
            if change.kind == 'started' and self.speech_start is None:
                self.speech_start = change.ms * BYTES_PER_MS
            elif change.kind == 'stopped':
                self.pause_end = min(change.ms * BYTES_PER_MS, len(self.audio))

    def next_span(self, interim: bool) -> Span | None:
        """What to decode now: the turn up to a pause not decoded yet, else (with `interim`) the turn so far once
        enough new speech came; None: nothing new."""
        if self.overflowed or self.speech_start is None:
            return None
        if self.pause_end > self.decoded_to and self.pause_end > self.speech_start:
            return Span(self.speech_start, self.pause_end, True)
        end = len(self.audio)
        grown = end - self.decoded_to >= STEP_MS * BYTES_PER_MS and end - self.speech_start >= FIRST_MS * BYTES_PER_MS
        speaking = self.vad.speaking and self.vad.quiet_ms < QUIET_MS  # else its pause's decode is due soon
        if interim and speaking and end <= MAX_INTERIM_BYTES and grown:
            return Span(self.speech_start, end, False)
        return None

    def decoded(self, span: Span, text: str) -> str:
        """Take a decode's text; returns the caption to send now ('' for none): the words after those shown that
        this decode and the one before agree on (the shown words are settled, so only what follows them is
        compared), or, for a pause's decode, all its words after those shown."""
        words, previous, shown = text.split(), self.previous, len(self.shown)
        self.previous = words
        if span.settled:
            self.settled = (span, text)
        if agreement(self.shown, words) < shown:
            return ''  # a decode that contradicts what is shown cannot take it back: the commit's text will
        agreed = len(words) if span.settled else shown + agreement(previous[shown:], words[shown:])
        new = words[shown:agreed]
        if not new:
            return ''
        caption = continuation(self.sent_last, words[shown - 1] if shown else '', new)
        self.shown += new
        self.sent_last = new[-1].rstrip(PUNCTUATION)
        return caption

    def settled_transcript(self, committed: bytes) -> str | None:
        """The pause's decode when it covers all the speech of `committed`: its audio lies inside the commit and
        what the commit holds before and after it is silence. None: decode the turn."""
        if self.settled is None:
            return None
        span, text = self.settled
        begin = self.locate(committed)
        if begin is None or span.start < max(begin, 0) or span.end > begin + len(committed):
            return None
        head, tail = committed[:max(span.start - begin, 0)], committed[span.end - begin:]
        return None if has_speech(head) or has_speech(tail) else text

    def locate(self, committed: bytes) -> int | None:
        """Where `committed` begins in what was heard, when all of it that was heard matches byte for byte
        (negative when the commit starts with audio this item never heard, e.g. VAD padding)."""
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


@dataclass
class HearingCounts:
    """What live recognition did (for benchmarks and the log): decodes by kind, and how commits were served."""
    interim: int = 0          # decodes of speech still going on
    pauses: int = 0           # decodes of the turn up to a pause
    commits_ready: int = 0    # commits whose transcript was the pause's decode
    commits_decoded: int = 0  # commits decoded at commit


def continuation(sent_last: str, last_now: str, new: list[str]) -> str:
    """The caption after `sent_last` (the last word sent, its punctuation held back): that word's punctuation as
    the latest text has it (e.g. "," after "world"), then the `new` words, the last again without punctuation."""
    joined = ' '.join(new[:-1] + [new[-1].rstrip(PUNCTUATION)]) if new else ''
    return held_punctuation(sent_last, last_now) + (' ' if sent_last and joined else '') + joined


class LiveHearing:
    """Every item being heard, by item id (ids are unique per server, so one table serves all sessions)."""

    def __init__(self) -> None:
        self.items: OrderedDict[str, HeardItem] = OrderedDict()
        self.counts = HearingCounts()

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
