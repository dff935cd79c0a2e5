"""The Events drawer's line format, fed the (untrusted) entries the browser's ring buffer returns."""
from hypothesis import given, strategies as st

from voice_ui.events_view import entry_line


def test_a_server_entry_becomes_one_line():
    line = entry_line({'n': 3, 't': 12345, 'direction': 'server', 'type': 'response.done', 'json': '{"a":1}'})
    assert line == '    12.345 s  ← server  response.done  {"a":1}'


def test_a_closed_drawer_entry_has_no_json():
    line = entry_line({'t': 1000, 'direction': 'client', 'type': 'response.create'})
    assert line.endswith('→ client  response.create')


@given(st.dictionaries(st.sampled_from(['n', 't', 'direction', 'type', 'json']),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5000),
                                 st.lists(st.integers()))))
def test_any_entry_gives_one_bounded_line(entry):
    line = entry_line(entry)
    assert isinstance(line, str) and len(line) <= 1200
