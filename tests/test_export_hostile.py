"""Transcript files and kept transcripts with text no real conversation has: lone surrogates (a stored snapshot's JSON
or a direct caller can carry them; UTF-8 cannot), C0/C1 controls and bidi overrides. Both export formats must come
out as valid UTF-8 (JSON that parses back), Markdown free of control characters; a snapshot read back from the
store holds only text the page can send to the browser (NiceGUI's orjson refuses lone surrogates)."""
from __future__ import annotations

import json
import re

from hypothesis import given, settings, strategies as st
from nicegui import json as nicegui_json

from voice_ui.conversation import AGENT, USER, Conversation
from voice_ui.conversation_store import decode
from voice_ui.export import json_export, markdown_export
from voice_ui.realtime_events import _str

NOW = 1_764_620_000.0
ANY_TEXT = st.text(alphabet=st.characters(), max_size=60)  # every code point, surrogates included
NASTY = ['\ud800', 'a\udfffb', '\x00\x1b[31m', '\x9b31m', '\u202egnp.exe', '<script>', '# title', '\r\n\r\n']
CONTROLS = re.compile(r'[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]')


def conversation_saying(user_text: str, agent_text: str) -> Conversation:
    conv = Conversation()
    conv.transcript('u1', USER, user_text, final=True)
    conv.transcript('a1', AGENT, agent_text, final=True)
    conv.apply({'type': 'conversation.item.input_audio_transcription.failed', 'item_id': 'u2',
                'error': {'message': agent_text}})
    return conv


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, st.sampled_from(NASTY)), st.one_of(ANY_TEXT, st.sampled_from(NASTY)))
def test_both_files_are_valid_utf8_whatever_the_text(user_text, agent_text):
    conv = conversation_saying(user_text, agent_text)
    data = json.loads(json_export(conv, now=NOW).content.decode('utf-8'))
    assert [t['role'] for t in data['turns']] == ['user', 'assistant', 'user']
    markdown = markdown_export(conv, model='m\ud800', now=NOW).content.decode('utf-8')
    assert not CONTROLS.search(markdown.replace('\n', '')), repr(markdown)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({'role': st.sampled_from(['user', 'assistant']), 'text': ANY_TEXT,
                                       'note': ANY_TEXT, 'done': st.booleans()}), max_size=5))
def test_a_stored_snapshot_comes_back_as_text_the_page_can_send(turns):
    snapshot = json.dumps({'v': 1, 'turns': turns})  # escapes the surrogates: what a hostile store could hold
    restored = decode(snapshot)
    nicegui_json.dumps(restored)  # would raise on a lone surrogate
    assert len(restored) == len(turns)


def test_component_text_with_a_lone_surrogate_is_made_sendable():
    for text in NASTY:
        nicegui_json.dumps(_str(text))
    assert _str('ok \ud800 ok') == 'ok \ufffd ok' and _str('plain') == 'plain'
