"""The conversation as a file: Markdown for people, JSON for programs. Pure functions of a `Conversation`.

Everything in a transcript came from a microphone, a remote model or a browser, so it is untrusted: in Markdown
every character that could start markup (emphasis, links, images, headings, HTML, code fences, tables) is
escaped and control characters are dropped, so a transcript renders as the words that were said and nothing
else. JSON is written by `json.dumps` (never by hand). Both files are bounded: past `max_chars` of turn text the
oldest turns are left out, and the file says how many.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .conversation import AGENT, USER, Conversation, Turn
from .latency import STAGES

FORMAT = 'voice-ui-transcript'
VERSION = 1
MAX_EXPORT_CHARS = 5_000_000  # of turn text per file: a few MB, whatever the conversation's length
ROLE_TITLES = {USER: 'You', AGENT: 'Agent'}
TOOL_FIELDS = ('name', 'call_id', 'arguments', 'output')  # exported if a turn (e.g. a tool card) has them

_CONTROL = re.compile(r'[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]')  # C0, C1, bidi
_MARKUP = re.compile(r'([\\`*_{}\[\]()#+\-.!|~=^$:])')  # markup can start with these (< > & become entities)
_HTML = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    content: bytes


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')


def escape_markdown(text: str) -> str:
    """Plain text that renders as itself in CommonMark/GFM: no markup, no HTML, no block syntax at line starts."""
    text = _CONTROL.sub(' ', text.replace('\r\n', '\n').replace('\r', '\n'))
    text = _MARKUP.sub(r'\\\1', text)
    text = ''.join(_HTML.get(ch, ch) for ch in text)  # after the escapes: an entity's `;` and `&` stay as they are
    lines = [line.lstrip(' \t') for line in text.split('\n')]  # leading spaces would make a code block
    return '  \n'.join(line for line in lines if line)


def kept_turns(conversation: Conversation, max_chars: int) -> tuple[list[Turn], int]:
    """The newest turns whose text fits in max_chars (at least the newest one, cut), and how many were left out."""
    kept, total = [], 0
    turns = list(conversation.turns)
    for turn in reversed(turns):
        if kept and total + len(turn.text) > max_chars:
            break
        total += len(turn.text)
        kept.append(turn)
    kept.reverse()
    return kept, len(turns) - len(kept)


def _turn_record(turn: Turn, max_chars: int) -> dict[str, Any]:
    record: dict[str, Any] = {'item_id': turn.item_id, 'role': turn.role, 'text': turn.text[:max_chars],
                              'at': iso(turn.at), 'done': turn.done}
    if turn.note:
        record['note'] = turn.note
    if turn.latency is not None:
        record['latency_ms'] = turn.latency.as_dict()
    for name in TOOL_FIELDS:
        value = getattr(turn, name, None)
        if isinstance(value, str) and value:
            record[name] = value[:max_chars]
    return record


def _usage(conversation: Conversation) -> dict[str, int]:
    usage = conversation.usage
    return {'responses': usage.responses, 'input_tokens': usage.input_tokens, 'output_tokens': usage.output_tokens,
            'input_audio_tokens': usage.input_audio_tokens, 'output_audio_tokens': usage.output_audio_tokens}


def to_json(conversation: Conversation, *, model: str = '', now: float, max_chars: int = MAX_EXPORT_CHARS) -> dict:
    turns, omitted = kept_turns(conversation, max_chars)
    summary = {name: {'turns': s.count, 'median_ms': s.median_ms, 'p90_ms': s.p90_ms}
               for name, s in conversation.latencies.summary().items()}
    return {'format': FORMAT, 'version': VERSION, 'exported_at': iso(now), 'model': model,
            'turns': [_turn_record(turn, max_chars) for turn in turns], 'omitted_turns': omitted,
            'usage': _usage(conversation), 'latency_summary': summary}


def json_export(conversation: Conversation, *, model: str = '', now: float,
                max_chars: int = MAX_EXPORT_CHARS) -> Export:
    data = to_json(conversation, model=model, now=now, max_chars=max_chars)
    content = json.dumps(data, ensure_ascii=False, indent=2).encode('utf-8', 'replace')  # a lone surrogate: ?
    return Export(filename(now, 'json'), 'application/json', content)


def markdown_export(conversation: Conversation, *, model: str = '', now: float,
                    max_chars: int = MAX_EXPORT_CHARS) -> Export:
    data = to_json(conversation, model=model, now=now, max_chars=max_chars)
    lines = ['# Conversation', '', f'Exported {data["exported_at"]}' + (f' · model {escape_markdown(model)}'
                                                                        if model else ''), '']
    if data['omitted_turns']:
        lines += [f'*{data["omitted_turns"]} earlier turns left out (the file is capped).*', '']
    for turn in data['turns']:
        title = ROLE_TITLES.get(turn['role'], escape_markdown(turn['role'].title()))
        notes = [escape_markdown(turn[k]) for k in ('name', 'note') if k in turn]
        lines.append(f'## {title} · {turn["at"]}' + ''.join(f' · {note}' for note in notes))
        lines += ['', escape_markdown(turn['text']) or '*(no text)*', '']
        for k in ('arguments', 'output'):
            if k in turn:
                lines += [f'{k.title()}: {escape_markdown(turn[k])}', '']
        if 'latency_ms' in turn:
            stages = [f'{title} {turn["latency_ms"][name]} ms' for name, title in STAGES
                      if turn['latency_ms'][name] is not None]
            lines += ['Latency: ' + ' · '.join(stages), '']
    usage = data['usage']
    lines += ['---', '', f'Usage: {usage["responses"]} responses · {usage["input_tokens"]} input tokens · '
              f'{usage["output_tokens"]} output tokens']
    for name, title in STAGES:
        if name in data['latency_summary']:
            s = data['latency_summary'][name]
            lines.append(f'Latency {title}: median {s["median_ms"]:.0f} ms · p90 {s["p90_ms"]:.0f} ms '
                         f'over {s["turns"]} turns  ')
    return Export(filename(now, 'md'), 'text/markdown; charset=utf-8',
                  ('\n'.join(lines) + '\n').encode('utf-8', 'replace'))


def filename(now: float, extension: str) -> str:
    return datetime.fromtimestamp(now, UTC).strftime(f'voice-ui-transcript-%Y%m%d-%H%M%S.{extension}')
