"""Text that can leave the process: lone surrogates (UTF-16 halves with no partner) are not Unicode text, and every
encoder on the way out refuses them (NiceGUI's orjson, UTF-8 files, Redis). Python's own JSON decoder and direct
callers can hand them in, so the boundaries that take text in (the component's events, stored snapshots) pass it
through here once."""
from __future__ import annotations

import re

SURROGATE = re.compile('[\ud800-\udfff]')


def sendable(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD; ASCII costs one scan and nothing else."""
    return text if text.isascii() else SURROGATE.sub('\ufffd', text)
