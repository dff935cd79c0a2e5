"""The token service against a broken or hostile upstream (`OPENAI_BASE_URL` can point anywhere): whatever it
answers, `mint()` returns a usable token or raises `TokenError` with short words for the person, never another
exception into the page's handler, and never hands the browser a token it could not use."""
from __future__ import annotations

import json
import math

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from voice_ui.config import Settings
from voice_ui.token_service import TokenError, TokenService

KEY = 'test-upstream-credential-not-a-real-key'
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=12)
FIELD = st.one_of(JSON, st.sampled_from(['ek_ok', '', ' ', 'ek bad', 'ek\r\nSet-Cookie: x', 'x' * 20_000, 'nan',
                                         'inf', '1e400', float('nan'), float('inf'), -1, True, 10**30]))
BODY = st.one_of(JSON, st.fixed_dictionaries({'value': FIELD, 'expires_at': FIELD}),
                 st.fixed_dictionaries({'error': st.one_of(JSON, st.fixed_dictionaries(
                     {'message': FIELD, 'code': FIELD}))}))
STATUS = st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 599])


def service_answering(status: int, content: bytes) -> TokenService:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={'content-type': 'application/json'})
    return TokenService(Settings(api_key=KEY, base_url='https://upstream.example/v1'),
                        transport=httpx.MockTransport(answer))


async def mint_from(status: int, content: bytes):
    service = service_answering(status, content)
    try:
        return await service.mint()
    except TokenError as error:
        return error
    finally:
        await service.aclose()


def assert_usable_or_said(result) -> None:
    if isinstance(result, TokenError):
        assert isinstance(result.message, str) and 0 < len(result.message) <= 600
        assert KEY not in result.message
        return
    assert isinstance(result.value, str) and 0 < len(result.value) <= 4096
    assert result.value.isascii() and result.value.isprintable() and ' ' not in result.value
    assert isinstance(result.expires_at, float) and math.isfinite(result.expires_at) and result.expires_at > 0


@settings(max_examples=300, deadline=None)
@given(status=STATUS, body=BODY)
async def test_any_upstream_answer_is_a_usable_token_or_words(status, body):
    assert_usable_or_said(await mint_from(status, json.dumps(body).encode()))


@pytest.mark.parametrize(('status', 'content'), [
    (400, b'[1, 2]'),                                       # the error reader called .get on a list
    (429, b'{"error": "slow down"}'),                      # ... on a string
    (400, b'{"error": {"message": 42}}'),                  # .strip() on a number
    (400, json.dumps({'error': {'message': 'x' * 1_000_000}}).encode()),  # a megabyte on the page
    (200, b'{"value": {"not": "a token"}, "expires_at": 1e12}'),
    (200, b'{"value": "", "expires_at": 1e12}'),
    (200, b'{"value": "ek_1\\r\\nX: y", "expires_at": 1e12}'),
    (200, b'{"value": "ek_1", "expires_at": NaN}'),
    (200, b'{"value": "ek_1", "expires_at": Infinity}'),
    (200, b'{"value": "ek_1", "expires_at": true}'),
    (200, b'not json at all'),
])
async def test_answers_that_broke_or_fooled_the_mint(status, content):
    assert_usable_or_said(await mint_from(status, content))


async def test_a_good_answer_still_mints():
    token = await mint_from(200, b'{"value": "ek_abc.DEF-123_", "expires_at": 1900000000}')
    assert not isinstance(token, TokenError) and token.value == 'ek_abc.DEF-123_'
