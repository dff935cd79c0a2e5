"""A one-line usage summary with an estimated cost (list prices from PROTOCOL.md §5; estimates only)."""
from __future__ import annotations

from nicegui import ui

from .conversation import Conversation, Usage

# USD per 1M tokens: (text in, text out, audio in, audio out)
PRICES = {'gpt-realtime': (4.00, 16.00, 32.00, 64.00), 'gpt-realtime-mini': (0.60, 2.40, 10.00, 20.00)}


def estimated_cost(usage: Usage, model: str) -> float | None:
    prices = next((p for name, p in sorted(PRICES.items(), key=lambda kv: -len(kv[0])) if model.startswith(name)),
                  None)
    if prices is None:
        return None
    text_in = usage.input_tokens - usage.input_audio_tokens
    text_out = usage.output_tokens - usage.output_audio_tokens
    counts = (text_in, text_out, usage.input_audio_tokens, usage.output_audio_tokens)
    return sum(c * p for c, p in zip(counts, prices, strict=True)) / 1e6


NOT_BILLED = '≈ $0.00 (local server, not billed)'


def describe(usage: Usage, model: str, billed: bool = True) -> str:
    """`billed=False`: the embedded server answered, so no list price applies (its token counts are its own)."""
    if not usage.responses:
        return ''
    cost = estimated_cost(usage, model) if billed else None
    noun = 'response' if usage.responses == 1 else 'responses'
    text = f'{usage.responses} {noun} · {usage.input_tokens} tokens in · {usage.output_tokens} tokens out'
    if not billed:
        return f'{text} · {NOT_BILLED}'
    return text + (f' · about ${cost:.4f}' if cost is not None else '')


def usage_line(conversation: Conversation, model: str, billed: bool = True) -> ui.label:
    return ui.label().classes('vu-usage').bind_text_from(conversation, 'usage', lambda u: describe(u, model, billed))
