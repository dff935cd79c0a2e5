"""Hypothesis strategies for client messages: plausible GA events and malformed ones, each tagged.

A `Message` is what goes on the wire (text or bytes) and whether the server must refuse it with an `error`
(`bad`). Plausible events may still be refused (state decides: a commit of an empty buffer), so they are not
tagged; malformed ones always must be.
"""
from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass

from hypothesis import strategies as st

from voice_ui.protocol import VOICES


@dataclass(frozen=True)
class Message:
    data: str | bytes
    bad: bool          # must be answered with an `error` event
    event_id: str | None = None  # echoed by that error when the message was an object with a string id

    def __repr__(self) -> str:
        return f'Message({self.data[:120]!r}, bad={self.bad})'


ALPHABET = 'ab z.\\"\'\n\t\x00é€😀\ud7ff'  # quotes, escapes, control, non-ASCII, astral
ids = st.text('abcdef0123456789', min_size=1, max_size=8).map(lambda s: f'e_{s}')
item_ids = st.sampled_from(['item_missing', 'item_x']) | st.text(ALPHABET, max_size=12)
words = st.text(ALPHABET, max_size=12)
scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False,
                                                                              allow_infinity=False) | words
junk = scalars | st.lists(scalars, max_size=3) | st.dictionaries(words, scalars, max_size=3)
not_string = st.none() | st.booleans() | st.integers() | st.lists(st.integers(), max_size=2) | st.dictionaries(
    st.text(ALPHABET, max_size=3), st.integers(), max_size=2)
not_number = st.none() | st.booleans() | st.text(ALPHABET, max_size=5) | st.lists(st.integers(), max_size=2)
not_int = not_number.filter(lambda v: v != 'inf') | st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda v: not v.is_integer())


def make_pcm(samples: int, seed: int, kind: str) -> bytes:
    """Cheap to draw (three numbers, not thousands of bytes): silence, loud noise, or a stray odd byte."""
    if kind == 'silence':
        return b'\0\0' * samples
    data = random.Random(seed).randbytes(2 * samples)
    return data + b'\x01' if kind == 'odd' else data


pcm = st.builds(make_pcm, st.integers(0, 4800), st.integers(0, 2**16), st.sampled_from(['silence', 'noise', 'odd']))


def audio_b64(data: bytes) -> str:
    return base64.b64encode(data).decode('ascii')


vad = st.fixed_dictionaries({'type': st.just('server_vad')}, optional={
    'threshold': st.floats(0, 1), 'prefix_padding_ms': st.integers(0, 1000),
    'silence_duration_ms': st.integers(100, 1500), 'create_response': st.booleans(),
    'interrupt_response': st.booleans()})
semantic = st.fixed_dictionaries({'type': st.just('semantic_vad')},
                                 optional={'eagerness': st.sampled_from(['low', 'medium', 'high', 'auto'])})
good_session = st.fixed_dictionaries({'type': st.just('realtime')}, optional={
    'instructions': st.text(ALPHABET, max_size=40),
    'audio': st.fixed_dictionaries({}, optional={
        'input': st.fixed_dictionaries({}, optional={'turn_detection': st.none() | vad | semantic,
                                                     'transcription': st.none() | st.just({'model': 'whisper-1'})}),
        'output': st.fixed_dictionaries({}, optional={'voice': st.sampled_from(VOICES),
                                                      'speed': st.floats(0.25, 1.5)})})})
text_item = st.builds(lambda role, text: {'type': 'message', 'role': role,
                                          'content': [{'type': 'input_text' if role != 'assistant' else 'output_text',
                                                       'text': text}]},
                      st.sampled_from(['user', 'system', 'assistant']), st.text(ALPHABET, max_size=30))

plausible_events = st.one_of(
    st.builds(lambda a: {'type': 'input_audio_buffer.append', 'audio': audio_b64(a)}, pcm),
    st.just({'type': 'input_audio_buffer.commit'}),
    st.just({'type': 'input_audio_buffer.clear'}),
    st.builds(lambda s: {'type': 'session.update', 'session': s}, good_session),
    st.builds(lambda i: {'type': 'conversation.item.create', 'item': i}, text_item),
    st.builds(lambda i: {'type': 'conversation.item.delete', 'item_id': i}, item_ids),
    st.builds(lambda i: {'type': 'conversation.item.retrieve', 'item_id': i}, item_ids),
    st.builds(lambda i, ms: {'type': 'conversation.item.truncate', 'item_id': i, 'content_index': 0,
                             'audio_end_ms': ms}, item_ids, st.integers(0, 5000)),
    st.just({'type': 'response.create'}),
    st.builds(lambda text: {'type': 'response.create', 'response': {'instructions': text}}, words),
    st.just({'type': 'response.cancel'}),
    st.builds(lambda i: {'type': 'response.cancel', 'response_id': i}, item_ids),
    st.just({'type': 'output_audio_buffer.clear'}),  # WebRTC/SIP only: refused over a WebSocket
    st.builds(lambda i, p: {'type': 'conversation.item.create', 'item': i, 'previous_item_id': p},
              st.sampled_from([
                  {'type': 'message', 'role': 'user', 'content': [
                      {'type': 'input_text', 'text': 'look'},
                      {'type': 'input_image', 'image_url': 'data:image/png;base64,iVBORw0KGgo=', 'detail': 'low'}]},
                  {'type': 'function_call', 'name': 'f', 'arguments': '{}', 'call_id': 'c1'},
                  {'type': 'function_call_output', 'call_id': 'c1', 'output': 'done'},
                  {'type': 'message', 'role': 'assistant', 'content': [{'type': 'output_audio', 'transcript': 'hi'}]},
              ]), st.none() | st.just('root') | item_ids),
    st.builds(lambda r: {'type': 'response.create', 'response': r}, st.fixed_dictionaries({}, optional={
        'conversation': st.sampled_from(['auto', 'none']), 'metadata': st.just({'k': 'v'}),
        'output_modalities': st.sampled_from([['text'], ['audio']]), 'max_output_tokens': st.sampled_from(['inf', 5]),
        'input': st.lists(st.builds(lambda i: {'type': 'item_reference', 'id': i}, item_ids), max_size=2),
        'tool_choice': st.just('none'), 'prompt': st.just({'id': 'pmpt_1'}), 'reasoning': st.just({'effort': 'low'}),
        'instructions': st.none() | words})),
    st.builds(lambda s: {'type': 'session.update', 'session': {'type': 'realtime', **s}}, st.fixed_dictionaries(
        {}, optional={'audio': st.none(), 'output_modalities': st.none(), 'tools': st.none(),
                      'max_output_tokens': st.none(),
                      'truncation': st.sampled_from(['disabled', {'type': 'retention_ratio', 'retention_ratio': 0.3}]),
                      'prompt': st.none() | st.just({'id': 'p', 'variables': {'a': 'b'}}), 'include': st.none(),
                      'tracing': st.sampled_from([None, 'auto', {'workflow_name': 'w'}])})),
)

bad_session_values = st.one_of(
    st.builds(lambda v: {'instructions': v}, not_string.filter(lambda v: v is not None)),
    st.builds(lambda v: {'audio': {'input': {'turn_detection': {'type': 'server_vad', 'threshold': v}}}},
              not_number | st.floats(1.01, 1e300) | st.floats(-1e300, -0.01)),
    st.builds(lambda k, v: {'audio': {'input': {'turn_detection': {'type': 'server_vad', k: v}}}},
              st.sampled_from(['prefix_padding_ms', 'silence_duration_ms']),
              not_int | st.integers(10_001, 10**30) | st.integers(-10**30, -1)),
    st.builds(lambda v: {'audio': {'output': {'speed': v}}}, not_number | st.floats(1.6, 1e300) | st.floats(-5, 0.2)),
    st.builds(lambda v: {'audio': {'output': {'voice': v}}},
              not_string | st.text(ALPHABET, min_size=1, max_size=12).filter(lambda v: v not in VOICES)),
    st.builds(lambda v: {'audio': {'input': {'turn_detection': v}}}, not_string.filter(
        lambda v: v is not None and not isinstance(v, dict)) | st.just({'type': 'nope'})),
    st.builds(lambda k: {k: 1}, st.text(ALPHABET, min_size=1, max_size=10).filter(lambda k: k not in (
        'type', 'model', 'instructions', 'output_modalities', 'max_output_tokens', 'tools', 'tool_choice', 'tracing',
        'truncation', 'prompt', 'include', 'parallel_tool_calls', 'reasoning', 'audio'))),
    st.builds(lambda v: {'max_output_tokens': v}, st.integers(4097, 10**20) | st.integers(-10**6, 0)
              | not_int.filter(lambda v: v is not None)),
)
bad_events = st.one_of(
    st.builds(lambda t: {'type': t}, not_string),
    st.builds(lambda t: {'type': t}, st.text(ALPHABET, max_size=30).filter(lambda t: '.' not in t or len(t) < 8)),
    st.builds(lambda extra: {'type': 'input_audio_buffer.clear', extra: 1},
              st.text(ALPHABET, min_size=1, max_size=8).filter(lambda k: k not in ('type', 'event_id'))),
    st.builds(lambda a: {'type': 'input_audio_buffer.append', 'audio': a}, not_string),
    st.builds(lambda a: {'type': 'input_audio_buffer.append', 'audio': a},
              st.text('!?*@ ', min_size=1, max_size=20)),
    st.builds(lambda s: {'type': 'session.update', 'session': s}, not_string.filter(
        lambda v: v is not None and not isinstance(v, dict))),
    st.builds(lambda s: {'type': 'session.update', 'session': {'type': 'realtime', **s}}, bad_session_values),
    st.builds(lambda i: {'type': 'conversation.item.create', 'item': i}, not_string.filter(
        lambda v: v is not None and not isinstance(v, dict))),
    st.builds(lambda i: {'type': 'conversation.item.delete', 'item_id': i}, not_string),
    st.builds(lambda v, name: {'type': 'conversation.item.truncate', 'item_id': 'item_x', 'content_index': 0,
                               'audio_end_ms': 5, name: v}, not_int | st.integers(-10**9, -1),
              st.sampled_from(['content_index', 'audio_end_ms'])),
    st.builds(lambda r: {'type': 'response.create', 'response': r}, not_string.filter(
        lambda v: v is not None and not isinstance(v, dict))),
    st.builds(lambda v: {'type': 'response.create', 'response': {'instructions': v}}, not_string.filter(
        lambda v: v is not None)),
    st.builds(lambda v: {'type': 'response.cancel', 'response_id': v}, not_string.filter(lambda v: v is not None)),
)
raw_frames = st.one_of(
    st.binary(max_size=64).filter(lambda b: not _is_object(b)),
    st.text(ALPHABET, max_size=64).filter(lambda t: not _is_object(t)),
    st.integers(1, 30_000).map(lambda n: '[' * n),
    st.integers(65, 3_000).map(lambda n: '{"a":' * n + '1' + '}' * n),
    st.integers(4_400, 6_000).map(lambda n: '{"type": "input_audio_buffer.clear", "n": ' + '7' * n + '}'),
    st.sampled_from(['NaN', 'Infinity', '[1, 2]', '"text"', '17', 'null', 'true', '',
                     '{"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"speed": '
                     'Infinity}}}}', '{"type": "input_audio_buffer.clear", "x": 1e999}',
                     b'{"type": "input_audio_buffer.clear", "event_id": "\xff"}']),
    junk.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
)


def _is_object(data: str | bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except (ValueError, RecursionError):
        return False


def _tagged(event: dict, bad: bool, event_id: str | None) -> Message:
    if event_id is not None:
        event = {**event, 'event_id': event_id}
    return Message(json.dumps(event), bad, event_id)


messages = st.one_of(
    st.builds(lambda e, i: _tagged(e, False, i), plausible_events, st.none() | ids),
    st.builds(lambda e, i: _tagged(e, True, i), bad_events, st.none() | ids),
    st.builds(lambda e, v: Message(json.dumps({**e, 'event_id': v}), True), plausible_events, not_string.filter(
        lambda v: v is not None)),
    st.builds(lambda data: Message(data, True), raw_frames),
    st.builds(lambda e, i: _tagged({'type': 'conversation.item.create', 'item': e}, False, i),
              st.dictionaries(st.sampled_from(['type', 'role', 'content', 'id', 'status', 'x']), junk, max_size=4),
              st.none() | ids),
)
