"""`POST /v1/realtime/client_secrets` over real HTTP: auth, validation, and the GA response shape."""
from __future__ import annotations

import json
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_ui.protocol import ErrorCode

from .serving import MANUAL_SESSION, mint, open_session


def assert_error(response: httpx.Response, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()['error']
    assert set(error) == {'message', 'type', 'param', 'code'}
    assert error['code'] == code and error['param'] == param and error['message']


def test_mint_returns_ephemeral_token_binding_the_session(base_url):
    before = time.time()
    response = mint(base_url, MANUAL_SESSION, expires_after={'anchor': 'created_at', 'seconds': 60})
    assert response.status_code == 200
    body = response.json()
    assert body['value'].startswith('ek_')
    assert before + 59 <= body['expires_at'] <= time.time() + 61
    session = body['session']
    assert session['id'].startswith('sess_') and session['object'] == 'realtime.session'
    assert session['type'] == 'realtime' and session['model'] == 'gpt-realtime'
    assert session['audio']['input']['turn_detection'] is None
    assert session['audio']['input']['transcription']['model'] == 'gpt-4o-mini-transcribe'
    assert session['audio']['output']['format'] == {'type': 'audio/pcm', 'rate': 24000}


def test_default_expiry_is_ten_minutes_and_default_turn_detection_is_server_vad(base_url):
    body = mint(base_url, {'type': 'realtime'}).json()
    assert 590 <= body['expires_at'] - time.time() <= 601
    assert body['session']['audio']['input']['turn_detection']['type'] == 'server_vad'


@pytest.mark.parametrize('authorization', [None, 'Bearer wrong', 'Basic sk-local-test', 'Bearer'])
def test_wrong_or_missing_key_is_401_invalid_api_key(base_url, authorization):
    headers = {'Authorization': authorization} if authorization is not None else {}
    response = httpx.post(f'{base_url}/realtime/client_secrets', json={'session': MANUAL_SESSION}, headers=headers)
    assert_error(response, 401, ErrorCode.INVALID_API_KEY)
    assert 'sk-local-test' not in response.text


def test_missing_session_type_is_400(base_url):
    assert_error(mint(base_url, {'model': 'gpt-realtime'}), 400, ErrorCode.MISSING_REQUIRED_PARAMETER, 'session.type')
    response = httpx.post(f'{base_url}/realtime/client_secrets', json={},
                          headers={'Authorization': 'Bearer sk-local-test'})
    assert_error(response, 400, ErrorCode.MISSING_REQUIRED_PARAMETER, 'session.type')


@pytest.mark.parametrize(('seconds', 'code'), [(7201, ErrorCode.INTEGER_ABOVE_MAX), (9, ErrorCode.INTEGER_BELOW_MIN),
                                               (0, ErrorCode.INTEGER_BELOW_MIN)])
def test_expiry_out_of_range_is_400(base_url, seconds, code):
    response = mint(base_url, MANUAL_SESSION, expires_after={'anchor': 'created_at', 'seconds': seconds})
    assert_error(response, 400, code, 'expires_after.seconds')


@pytest.mark.parametrize('seconds', [10, 7200])
def test_expiry_bounds_are_accepted(base_url, seconds):
    assert mint(base_url, MANUAL_SESSION, expires_after={'anchor': 'created_at', 'seconds': seconds}).status_code == 200


@pytest.mark.parametrize(('session', 'param'), [
    ({'type': 'realtime', 'modalities': ['audio']}, 'session.modalities'),  # a beta name
    ({'type': 'realtime', 'voice': 'cedar'}, 'session.voice'),             # beta's flat session
    ({'type': 'realtime', 'audio': {'input': {'vad': True}}}, 'session.audio.input.vad'),
    ({'type': 'realtime', 'audio': {'output': {'voice': 'cedar', 'pitch': 2}}}, 'session.audio.output.pitch'),
])
def test_unknown_session_fields_are_400_unknown_parameter(base_url, session, param):
    assert_error(mint(base_url, session), 400, ErrorCode.UNKNOWN_PARAMETER, param)


def test_unknown_top_level_field_is_400(base_url):
    assert_error(mint(base_url, MANUAL_SESSION, ttl=5), 400, ErrorCode.UNKNOWN_PARAMETER, 'ttl')


def test_invalid_voice_is_400_invalid_value(base_url):
    response = mint(base_url, {'type': 'realtime', 'audio': {'output': {'voice': 'robot'}}})
    assert_error(response, 400, ErrorCode.INVALID_VALUE, 'session.audio.output.voice')


def test_injected_mint_failures_then_recovery(base_url, faults):
    faults.mint_status, faults.mint_times = 429, 1
    assert_error(mint(base_url), 429, ErrorCode.RATE_LIMIT_EXCEEDED)
    assert mint(base_url).status_code == 200
    faults.mint_status, faults.mint_times = 500, None
    assert_error(mint(base_url), 500, ErrorCode.SERVER_ERROR)
    assert_error(mint(base_url), 500, ErrorCode.SERVER_ERROR)


def test_auth_is_checked_before_injected_failures(base_url, faults):
    faults.mint_status = 500
    assert_error(mint(base_url, key='wrong'), 401, ErrorCode.INVALID_API_KEY)


def post(base_url: str, content: bytes | str, key: str | None = 'sk-local-test') -> httpx.Response:
    headers = {'Content-Type': 'application/json'}
    if key is not None:
        headers['Authorization'] = f'Bearer {key}'
    return httpx.post(f'{base_url}/realtime/client_secrets', content=content, headers=headers)


@pytest.mark.parametrize(('expires_after', 'code', 'param'), [
    ([], 'invalid_type', 'expires_after'), (0, 'invalid_type', 'expires_after'),
    ('60', 'invalid_type', 'expires_after'),
    ({'seconds': 0}, ErrorCode.INTEGER_BELOW_MIN, 'expires_after.seconds'),
    ({'seconds': 60.5}, 'invalid_type', 'expires_after.seconds'),
    ({'seconds': True}, 'invalid_type', 'expires_after.seconds'),
    ({'seconds': 10 ** 40}, ErrorCode.INTEGER_ABOVE_MAX, 'expires_after.seconds'),
    ({'anchor': 'now'}, 'invalid_value', 'expires_after.anchor'),
])
def test_expires_after_is_strict(base_url, expires_after, code, param):
    assert_error(mint(base_url, MANUAL_SESSION, expires_after=expires_after), 400, code, param)


@pytest.mark.parametrize('body', [
    '{"session": {"type": "realtime"}, "expires_after": {"seconds": Infinity}}',
    '{"session": {"type": "realtime"}, "expires_after": {"seconds": NaN}}',
    '{"session": {"type": "realtime", "audio": {"output": {"speed": 1e999}}}}',
    '[' * 100_000, '{"session": ' * 5_000, '{"session": {"type": "realtime"}, "x": ' + '9' * 5_000 + '}',
    b'{"session": {"type": "realtime", "instructions": "\xff"}}', '{"session": ',
])
def test_unparseable_bodies_are_400_invalid_json(base_url, body):
    assert_error(post(base_url, body), 400, ErrorCode.INVALID_JSON)


@pytest.mark.parametrize('body', ['[' * 100_000, '{"session": ' * 5_000, 'x' * 2_000_000])
def test_the_key_is_checked_before_the_body_is_read(base_url, body):
    assert_error(post(base_url, body, key=None), 401, ErrorCode.INVALID_API_KEY)
    assert_error(post(base_url, body, key='wrong'), 401, ErrorCode.INVALID_API_KEY)


def test_a_body_over_the_limit_is_413(base_url):
    response = post(base_url, '{"session": {"type": "realtime", "instructions": "' + 'x' * (1 << 20) + '"}}')
    assert response.status_code == 413 and response.json()['error']['message']


@pytest.mark.parametrize(('session', 'code', 'param'), [
    ({'type': 'realtime', 'instructions': 5}, 'invalid_type', 'session.instructions'),
    ({'type': 'realtime', 'audio': {'input': {'turn_detection': {'type': 'server_vad', 'threshold': 'high'}}}},
     'invalid_type', 'session.audio.input.turn_detection.threshold'),
    ({'type': 'realtime', 'audio': {'input': {'turn_detection': {'type': 'server_vad', 'threshold': [0.5]}}}},
     'invalid_type', 'session.audio.input.turn_detection.threshold'),
    ({'type': 'realtime', 'audio': {'input': {'turn_detection': {'type': 'server_vad', 'threshold': 2}}}},
     ErrorCode.DECIMAL_ABOVE_MAX, 'session.audio.input.turn_detection.threshold'),
    ({'type': 'realtime', 'audio': {'input': {'turn_detection': {'type': 'server_vad', 'silence_duration_ms': -1}}}},
     ErrorCode.INTEGER_BELOW_MIN, 'session.audio.input.turn_detection.silence_duration_ms'),
    ({'type': 'realtime', 'audio': {'input': {'turn_detection': {'type': 'server_vad', 'eagerness': 'low'}}}},
     'unknown_parameter', 'session.audio.input.turn_detection.eagerness'),
    ({'type': 'realtime', 'audio': {'output': {'speed': 3}}}, ErrorCode.DECIMAL_ABOVE_MAX,
     'session.audio.output.speed'),
    ({'type': 'realtime', 'max_output_tokens': 0}, ErrorCode.INTEGER_BELOW_MIN, 'session.max_output_tokens'),
    ({'type': 'realtime', 'tools': {}}, 'invalid_type', 'session.tools'),
    ('realtime', 'invalid_type', 'session'),
])
def test_session_values_are_typed_and_in_range(base_url, session, code, param):
    assert_error(mint(base_url, session), 400, code, param)


@given(body=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                         | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(st.sampled_from(['session', 'expires_after', 'type', 'seconds', 'anchor',
                                                            'audio', 'input', 'turn_detection', 'threshold', 'x']),
                                           inner, max_size=4), max_leaves=12))
@settings(max_examples=100, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_body_is_a_200_or_a_clear_400(base_url, body):
    response = post(base_url, json.dumps(body))
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        error = response.json()['error']
        assert set(error) == {'message', 'type', 'param', 'code'} and error['code'] and error['message']


async def test_every_minted_config_opens_a_working_session(base_url):
    """A token's session was checked as strictly as an update: sessions opened with it never crash."""
    for session in ({'type': 'realtime', 'audio': {'input': {'turn_detection': {'type': 'server_vad', 'threshold': 0,
                                                                                'silence_duration_ms': 0}}}},
                    {'type': 'realtime', 'audio': {'input': {'turn_detection': {'type': 'semantic_vad'}}}}):
        client = await open_session(base_url, session)
        await client.append(b'\xff\x7f\x00\x80' * 12_000)
        await client.send({'type': 'input_audio_buffer.clear'})
        types = [e['type'] for e in await client.until('input_audio_buffer.cleared')]
        assert 'error' not in types
        await client.connection.close()
