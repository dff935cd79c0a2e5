"""`POST /v1/realtime/client_secrets` over real HTTP: auth, validation, and the GA response shape."""
from __future__ import annotations

import time

import httpx
import pytest

from voice_ui.protocol import ErrorCode

from .serving import MANUAL_SESSION, mint


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
