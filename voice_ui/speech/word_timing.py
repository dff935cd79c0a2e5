"""When each word of a synthesized reply ends, from piper's sentence chunks and their phonemes.

piper speaks a text sentence by sentence; each chunk carries its phonemes, with a space between words. A word's
end is placed by its share of its sentence's phonemes (piper's voices ship without per-phoneme alignments), so
the estimate is exact at sentence boundaries and close within a sentence. The engine uses it to keep, on
truncate, the words the listener actually heard.
"""
from __future__ import annotations

from ..local_realtime.server_conversation import words


def word_ends_ms(text: str, chunks: list[tuple[list[str], int]], sample_rate: int) -> tuple[int, ...] | None:
    """`chunks`: (phonemes, samples) per spoken sentence. None when the words cannot be matched to the text's."""
    ends: list[int] = []
    offset = 0
    for phonemes, samples in chunks:
        spoken = ''.join(phonemes).strip()
        if spoken:
            boundaries = [index for index, phoneme in enumerate(phonemes) if phoneme == ' ' and index]
            boundaries.append(len(phonemes))
            for boundary in boundaries:
                ends.append(round((offset + samples * boundary / len(phonemes)) * 1000 / sample_rate))
        offset += samples
    return tuple(ends) if len(ends) == len(words(text)) else None
