"""Where a reply can be cut for speaking: sentence ends, and for the first piece a clause end too.

piper speaks sentence by sentence anyway; cutting the text the same way lets the first sentence play while the
next is synthesised. The first piece may end at a clause (`,` `:` `;`) once it has a few words, because the
time to first audio is what a listener notices, and a clause is a natural place for a breath.
"""
from __future__ import annotations

import re
from itertools import pairwise

SENTENCE_END = re.compile(r'(?<=[.!?])\s+')
CLAUSE_END = re.compile(r'(?<=[,:;])\s+')
FIRST_CLAUSE_MIN_WORDS = 2


def speakable_pieces(text: str) -> list[str]:
    """`text` cut into pieces that concatenate back to it exactly; each later piece keeps its leading space."""
    if not text.strip():
        return []
    cuts = [match.start() for match in SENTENCE_END.finditer(text)]
    first_end = cuts[0] if cuts else len(text)
    for match in CLAUSE_END.finditer(text, 0, first_end):
        if len(text[:match.start()].split()) >= FIRST_CLAUSE_MIN_WORDS:
            cuts.insert(0, match.start())
            break
    bounds = [0, *cuts, len(text)]
    return [text[start:end] for start, end in pairwise(bounds) if text[start:end]]


class SentenceBuffer:
    """Streamed text (a chat model's tokens) in, whole pieces out as soon as they are complete."""

    def __init__(self) -> None:
        self.text = ''
        self.first = True

    def add(self, delta: str) -> list[str]:
        self.text += delta
        pieces = speakable_pieces(self.text) if self.first else self._sentences()
        if len(pieces) < 2:
            return []
        done, self.text = pieces[:-1], pieces[-1]
        self.first = False
        return done

    def _sentences(self) -> list[str]:
        cuts = [match.start() for match in SENTENCE_END.finditer(self.text)]
        bounds = [0, *cuts, len(self.text)]
        return [self.text[a:b] for a, b in pairwise(bounds) if self.text[a:b]]

    def flush(self) -> list[str]:
        rest, self.text = self.text, ''
        return [rest] if rest else []

