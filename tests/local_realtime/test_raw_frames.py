"""WebSocket frames no SDK sends, from a bare socket: binary events, fragments with a ping between them, UTF-8
split across fragments, empty and one-byte frames, protocol violations, odd `?model=` values. Each gets a GA
answer (an event, an `error`, or the close code RFC 6455 names) and no session outlives its connection."""
from __future__ import annotations

import json
import struct
import time
from urllib.parse import quote

import pytest

from voice_ui.local_realtime.limits import ServerLimits
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing

from tests.protocol_validation import validate_server_event

from .raw_peer import BINARY, CLOSE, CONTINUATION, PING, TEXT, frame, open_raw, read_frames
from .serving import API_KEY, serve

CLEAR = b'{"type": "input_audio_buffer.clear", "event_id": "ev_raw"}'
LIMIT = 2000


@pytest.fixture(scope='module')
def served():
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST),
                                 limits=ServerLimits(max_frame_bytes=LIMIT))
    with serve(config) as served:
        yield served


def answers(served, frames: list[bytes], count: int | None = None) -> list:
    """The server's frames: the first, then (after sending `frames`) up to `count` more or until it closes."""
    with open_raw(served.url, {'Authorization': f'Bearer {API_KEY}'}) as sock:
        first = read_frames(sock, 5, skip_head=True, count=1)
        for data in frames:
            sock.sendall(data)
        return first + read_frames(sock, 5, count=count)


def instructions_frame(size: int) -> bytes:
    """A `session.update` of exactly `size` bytes."""
    head, tail = b'{"type": "session.update", "session": {"type": "realtime", "instructions": "', b'"}}'
    return frame(TEXT, head + b'x' * (size - len(head) - len(tail)) + tail)


def events(frames: list[tuple[int, bytes]]) -> list[dict]:
    found = [json.loads(payload) for opcode, payload in frames if opcode == TEXT]
    for event in found:
        validate_server_event(event)
    return found


@pytest.mark.parametrize(('frames', 'answer'), [
    ([frame(BINARY, CLEAR)], 'input_audio_buffer.cleared'),
    ([frame(TEXT, CLEAR[:20], fin=False), frame(PING, b'between'), frame(CONTINUATION, CLEAR[20:])],
     'input_audio_buffer.cleared'),
    ([frame(TEXT, b'{"type": "input_audio_buffer.clear", "event_id": "\xc3', fin=False),
      frame(CONTINUATION, b'\xa9"}')], 'input_audio_buffer.cleared'),
    ([frame(TEXT, b'')], 'invalid_json'), ([frame(BINARY, b'')], 'invalid_json'),
    ([frame(TEXT, b'{')], 'invalid_json'), ([frame(BINARY, b'\xff\xfe{')], 'invalid_json'),
    ([instructions_frame(LIMIT)], 'session.updated'),  # exactly the limit
    ([instructions_frame(LIMIT + 1)], 'invalid_value'),  # one byte over: refused, the session goes on
])
def test_frames_an_sdk_never_sends_get_a_ga_answer_and_the_session_goes_on(served, frames, answer):
    got = events(answers(served, [*frames, frame(TEXT, b'{"type": "input_audio_buffer.commit"}')], count=2))
    assert got[0]['type'] == 'session.created', got
    reply = got[1]
    assert reply['type'] == answer or reply['type'] == 'error' and reply['error']['code'] == answer, got
    assert got[2]['type'] == 'error' and got[2]['error']['code'] == 'input_audio_buffer_commit_empty', got


@pytest.mark.parametrize(('frames', 'close_code'), [
    ([frame(TEXT, b'{"type": "\xff"}')], 1007),                      # text that is not UTF-8
    ([b'\x81\x02{}'], 1002),                                         # a client frame without a mask
    ([bytes([0x83, 0x80]) + b'\0\0\0\0'], 1002),                     # a reserved opcode
    ([frame(CONTINUATION, b'abc')], 1002),                           # a continuation of nothing
    ([frame(PING, b'x' * 126)], 1002),                               # a control frame over 125 bytes
    ([frame(CLOSE, struct.pack('!H', 999))], 1002),                  # a close code that cannot be
    ([frame(TEXT, b'x' * LIMIT, fin=False), frame(CONTINUATION, b'x' * (LIMIT + 1))], 1009),  # over twice the limit
    ([frame(CLOSE, struct.pack('!H', 1000))], 1000),
])
def test_protocol_violations_close_with_their_code_and_free_the_session(served, frames, close_code):
    got = answers(served, frames)
    assert got[-1][0] == CLOSE and struct.unpack('!H', got[-1][1][:2])[0] == close_code, got[-3:]
    deadline = time.monotonic() + 3
    while served.server.sessions.count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert served.server.sessions.count == 0


@pytest.mark.parametrize('model', ['m' * 201, 'gpt\x00realtime', 'gpt\nrealtime'])
def test_a_huge_or_odd_model_is_refused_with_an_error_then_closed(served, model):
    with open_raw(served.url, {'Authorization': f'Bearer {API_KEY}'}, query=f'model={quote(model)}') as sock:
        got = read_frames(sock, 5, skip_head=True)
    error = events(got)[0]
    assert error['type'] == 'error' and error['error']['code'] == 'invalid_value', error
    assert got[-1][0] == CLOSE and struct.unpack('!H', got[-1][1][:2])[0] == 1008
