"""Word error rate, for the speech tests and the latency benchmark.

Both texts are normalised the usual way before scoring: lower case, no punctuation, and numbers written as
words ('10' -> 'ten'), because Whisper writes digits where people (and our manifests) spell numbers out.
"""
from __future__ import annotations

import re

ONES = ('zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen '
        'sixteen seventeen eighteen nineteen').split()
TENS = 'twenty thirty forty fifty sixty seventy eighty ninety'.split()


def words(text: str) -> list[str]:
    text = re.sub(r"[^\w\s']|_", ' ', text.lower()).replace("'", '')
    return [spoken for token in text.split() for spoken in number_words(token)]


def number_words(token: str) -> list[str]:
    """'42' -> ['forty', 'two']; 0..999 are spelled out, other tokens are kept as they are."""
    if not token.isdigit() or int(token) > 999:
        return [token]
    value = int(token)
    hundreds, rest = divmod(value, 100)
    spoken = [ONES[hundreds], 'hundred'] if hundreds else []
    if rest or not hundreds:
        if rest < 20:
            spoken.append(ONES[rest])
        else:
            tens, ones = divmod(rest, 10)
            spoken += [TENS[tens - 2]] + ([ONES[ones]] if ones else [])
    return spoken


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by Levenshtein distance over words."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / len(ref)
