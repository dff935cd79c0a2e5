"""One vocabulary, two spellings: assets/protocol.js and voice_ui/protocol.py must agree, and every Realtime event
name on either side must be a GA type literal of the `openai` package (PROTOCOL.md §6)."""
from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent

from voice_ui import protocol, realtime_session
from voice_ui.realtime_session import ASSETS

JS = (ASSETS / 'protocol.js').read_text(encoding='utf-8')
ENUM = re.compile(r'export const (\w+) = Object\.freeze\(\{(.*?)\}\);', re.S)
ENTRY = re.compile(r"^\s*(\w+): '([^']*)',?\s*$", re.M)
CONSTANT = re.compile(r"^export const (\w+) = ('([^']*)'|[\d_]+);", re.M)


def js_enums() -> dict[str, dict[str, str]]:
    enums = {name: dict(ENTRY.findall(body)) for name, body in ENUM.findall(JS)}
    assert all(enums.values()), 'an enum of protocol.js could not be read'
    return enums


def js_constants() -> dict[str, object]:
    return {name: quoted if quoted else int(raw.replace('_', ''))
            for name, raw, quoted in CONSTANT.findall(JS)}


def type_literals(union) -> set[str]:
    members = typing.get_args(typing.get_args(union)[0])
    return {literal for member in members for literal in typing.get_args(member.model_fields['type'].annotation)}


SHARED_ENUMS = ['Status', 'UiEvent', 'ErrorSource', 'NoticeKind', 'TokenReason', 'Role', 'ResponseStatus',
                'TurnDetection']


@pytest.mark.parametrize('name', SHARED_ENUMS)
def test_the_components_vocabulary_is_the_same_on_both_sides(name):
    python = {member.name: member.value for member in getattr(protocol, name)}
    assert js_enums()[name] == python


@pytest.mark.parametrize(('name', 'union'), [('ClientEvent', RealtimeClientEvent),
                                             ('ServerEvent', RealtimeServerEvent)])
def test_event_names_are_ga_literals_and_the_js_ones_a_subset_of_python(name, union):
    js, python = js_enums()[name], {m.name: m.value for m in getattr(protocol, name)}
    assert js.items() <= python.items(), set(js.items()) - set(python.items())
    literals = type_literals(union)
    assert set(python.values()) <= literals, set(python.values()) - literals


def test_error_codes_and_constants_agree():
    js_codes = js_enums()['ErrorCode']
    assert js_codes.items() <= {m.name: m.value for m in protocol.ErrorCode}.items()
    constants = js_constants()
    shared = ('SAMPLE_RATE', 'MIN_COMMIT_MS', 'SUBPROTOCOL', 'TOKEN_SUBPROTOCOL_PREFIX', 'MAX_TRANSCRIPT_EVENT_CHARS',
              'MAX_TYPED_CHARS', 'RESTORED_ITEM_PREFIX', 'MIC_SILENT_CODE')
    for name in shared:
        assert constants[name] == getattr(protocol, name), name


def test_the_forwarded_server_events_agree():
    body = re.search(r'FORWARDED_SERVER_EVENTS = Object\.freeze\(new Set\(\[(.*?)\]\)\)', JS, re.S).group(1)
    names = set(re.findall(r'ServerEvent\.(\w+)', body))
    assert {protocol.ServerEvent[n] for n in names} == protocol.FORWARDED_SERVER_EVENTS


def test_every_command_python_sends_is_a_method_of_the_component():
    """RealtimeSession's commands reach the Vue component by name (run_method): a misspelt one would do nothing."""
    python = Path(realtime_session.__file__).read_text(encoding='utf-8')
    commands = set(re.findall(r"run_method\('(\w+)'", python))
    component = (ASSETS / 'realtime_session.js').read_text(encoding='utf-8')
    methods = set(re.findall(r'^    (\w+)\(.*\) \{$', component.split('methods: {', 1)[1], re.M))
    assert commands and commands <= methods, commands - methods
