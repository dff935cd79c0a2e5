"""The transcript files: both formats carry roles, text, timestamps, notes, latency and usage; hostile text cannot
become markup in Markdown (checked by rendering it with markdown2, NiceGUI's own renderer); files stay bounded."""
from __future__ import annotations

import html
import json
import re

import markdown2
from hypothesis import given, settings, strategies as st

from voice_ui.conversation import AGENT, USER, Conversation
from voice_ui.export import escape_markdown, json_export, markdown_export
from voice_ui.latency import TurnLatency

NOW = 1_764_620_000.0  # 2025-12-01T20:13:20Z


def conversation() -> Conversation:
    conv = Conversation()
    conv.transcript('u1', USER, 'What is the weather in Paris?', final=True)
    conv.transcript('a1', AGENT, 'Sunny, 21 degrees.', final=True)
    conv.apply({'type': 'response.done', 'response': {'id': 'r1', 'status': 'cancelled', 'output': [{'id': 'a1'}],
                                                      'usage': {'input_tokens': 30, 'output_tokens': 12}}})
    conv.record_latency('a1', TurnLatency(110, 250, 640, 2100))
    for turn in conv.turns:
        turn.at = NOW - 5
    return conv


def test_json_has_roles_text_timestamps_notes_latency_and_usage():
    export = json_export(conversation(), model='gpt-realtime', now=NOW)
    assert export.filename == 'voice-ui-transcript-20251201-201320.json'
    assert export.media_type == 'application/json'
    data = json.loads(export.content)
    assert data['format'] == 'voice-ui-transcript' and data['version'] == 1 and data['model'] == 'gpt-realtime'
    assert [(t['role'], t['text']) for t in data['turns']] == [
        ('user', 'What is the weather in Paris?'), ('assistant', 'Sunny, 21 degrees.')]
    assert data['turns'][0]['at'] == '2025-12-01T20:13:15Z'
    assert data['turns'][1]['note'] == 'cancelled'
    assert data['turns'][1]['latency_ms'] == {'commit_ms': 110, 'transcript_ms': 250, 'audio_ms': 640,
                                              'done_ms': 2100}
    assert 'latency_ms' not in data['turns'][0]
    assert data['usage']['input_tokens'] == 30 and data['usage']['responses'] == 1
    assert data['latency_summary']['audio_ms'] == {'turns': 1, 'median_ms': 640, 'p90_ms': 640}
    assert data['omitted_turns'] == 0


def test_markdown_has_both_sides_in_order_with_time_note_latency_and_usage():
    export = markdown_export(conversation(), model='gpt-realtime', now=NOW)
    assert export.filename.endswith('.md') and export.media_type.startswith('text/markdown')
    text = export.content.decode('utf-8')
    user, agent = text.index('## You · 2025-12-01T20:13:15Z'), text.index('## Agent · 2025-12-01T20:13:15Z · cancelled')
    assert user < agent
    assert 'What is the weather in Paris?' in text and 'Sunny, 21 degrees\\.' in text
    assert 'Latency: commit 110 ms · transcript 250 ms · first audio 640 ms · done 2100 ms' in text
    assert '30 input tokens' in text


def test_tool_fields_are_exported_when_a_turn_has_them():
    conv = conversation()
    conv.turns[1].name, conv.turns[1].arguments = 'get_weather', '{"city": "Paris"}'
    data = json.loads(json_export(conv, now=NOW).content)
    assert data['turns'][1]['name'] == 'get_weather' and data['turns'][1]['arguments'] == '{"city": "Paris"}'
    assert 'get\\_weather' in markdown_export(conv, now=NOW).content.decode()


HOSTILE = [
    '<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '[click](javascript:alert(1))', '![x](http://e/x.png)',
    '# Heading', 'Title\n===', '```\ncode\n```', '    indented code', '> quote', '- item\n* item\n1. item',
    '| a | b |\n|---|---|', '**bold** _em_ ~~del~~', '<https://evil.example>', 'www.evil.example', '&lt;b&gt;',
    'line\r\n\r\n## injected', '\x00\x1b[31mred\u202egnp.exe', '\\*escaped\\*', '<!-- comment -->', '$x^2$',
]


def rendered(text: str) -> str:
    return markdown2.markdown(escape_markdown(text))


def test_hostile_text_renders_as_plain_text():
    for text in HOSTILE:
        out = rendered(text)
        tags = set(re.findall(r'</?([a-zA-Z0-9]+)', out))
        assert tags <= {'p', 'br'}, (text, out)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec='utf-8', exclude_categories=['Cs']), max_size=80))
def test_any_text_renders_without_markup_and_keeps_its_words(text):
    out = rendered(text)
    assert set(re.findall(r'</?([a-zA-Z0-9]+)', out)) <= {'p', 'br'}, out
    visible = html.unescape(re.sub(r'<[^>]+>', '', out))
    assert re.findall(r'[A-Za-z0-9]+', visible) == re.findall(r'[A-Za-z0-9]+', text), (text, out)


def test_hostile_model_name_and_role_are_escaped_too():
    conv = conversation()
    conv.turns[0].role = '<b>tool</b>'
    text = markdown_export(conv, model='[x](javascript:1)', now=NOW).content.decode()
    assert '<b>' not in text and '](javascript' not in text


def test_huge_conversations_are_bounded_and_say_what_was_left_out():
    conv = Conversation()
    for i in range(200):
        conv.transcript(f'u{i}', USER, f'turn {i} ' + 'x' * 10_000, final=True)
    data = json.loads(json_export(conv, now=NOW, max_chars=100_000).content)
    assert 0 < len(data['turns']) <= 10 and data['omitted_turns'] == 200 - len(data['turns'])
    assert data['turns'][-1]['text'].startswith('turn 199 ')  # the newest are kept
    md = markdown_export(conv, now=NOW, max_chars=100_000).content
    assert len(md) < 200_000 and b'earlier turns left out' in md


def test_a_single_turn_larger_than_the_cap_is_cut():
    conv = Conversation()
    conv.transcript('u1', USER, 'y' * 50_000, final=True)
    data = json.loads(json_export(conv, now=NOW, max_chars=1000).content)
    assert len(data['turns'][0]['text']) == 1000


def test_an_empty_conversation_exports():
    assert json.loads(json_export(Conversation(), now=NOW).content)['turns'] == []
    assert b'# Conversation' in markdown_export(Conversation(), now=NOW).content
