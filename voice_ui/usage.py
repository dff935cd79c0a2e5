"""Token usage over a conversation's responses, summed from untrusted `response.done` events."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12 else 0


@dataclass(frozen=True)
class Usage:
    """Totals over all `response.done` events; replaced, never mutated, so bindings see each change."""
    input_tokens: int = 0
    output_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    responses: int = 0

    def plus(self, usage: dict) -> Usage:
        audio_in = _count(_dict(usage.get('input_token_details')).get('audio_tokens'))
        audio_out = _count(_dict(usage.get('output_token_details')).get('audio_tokens'))
        return Usage(self.input_tokens + _count(usage.get('input_tokens')),
                     self.output_tokens + _count(usage.get('output_tokens')),
                     self.input_audio_tokens + audio_in, self.output_audio_tokens + audio_out, self.responses + 1)
