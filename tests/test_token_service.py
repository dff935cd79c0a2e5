"""The token service against a real local HTTP peer: success, every failure a person may meet, connection reuse
(per-page reuse and limits: tests/test_access_tokens.py)."""
import time

import httpx
import pytest
from openai.types.realtime import ClientSecretCreateParams
from pydantic import TypeAdapter

from voice_ui.config import Settings
from voice_ui.token_service import TokenError, TokenService

KEY = 'sk-test-not-a-real-key'


def service_for(peer, **overrides) -> TokenService:
    return TokenService(Settings(api_key=KEY, base_url=peer.url, **overrides), timeout_s=1.0)


async def test_mint_sends_the_whole_session_and_returns_the_token(mint_peer):
    service = service_for(mint_peer, voice='marin', token_ttl_s=120)
    token = await service.mint()
    await service.aclose()
    assert token.value == 'ek_test_1'
    assert token.expires_at == pytest.approx(time.time() + 120, abs=3)
    request = mint_peer.requests[0]
    assert request['authorization'] == f'Bearer {KEY}'
    body = request['body']
    TypeAdapter(ClientSecretCreateParams).validate_python(body)
    assert body['expires_after'] == {'anchor': 'created_at', 'seconds': 120}
    session = body['session']
    assert session['type'] == 'realtime' and session['model'] == 'gpt-realtime'
    assert session['audio']['output']['voice'] == 'marin'
    assert session['audio']['input']['turn_detection'] is None
    assert session['audio']['input']['transcription']['model'] == 'gpt-4o-mini-transcribe'
    assert KEY not in repr(token)


@pytest.mark.parametrize(('behaviour', 'kind', 'words'), [
    (401, 'invalid_key', 'API key was rejected'),
    (429, 'rate_limit', 'Too many requests'),
    ('quota', 'quota', 'out of quota'),
    (400, 'bad_request', "Unknown parameter: 'session.foo'"),
    (500, 'server', 'Try again shortly'),
])
async def test_failures_become_messages_a_person_understands(mint_peer, behaviour, kind, words):
    mint_peer.behaviour = behaviour
    service = service_for(mint_peer)
    with pytest.raises(TokenError) as caught:
        await service.mint()
    await service.aclose()
    assert caught.value.kind == kind
    assert words in caught.value.message
    assert KEY not in caught.value.message


async def test_timeout(mint_peer):
    mint_peer.behaviour = 'slow'
    service = TokenService(Settings(api_key=KEY, base_url=mint_peer.url), timeout_s=0.3)
    with pytest.raises(TokenError) as caught:
        await service.mint()
    await service.aclose()
    assert caught.value.kind == 'timeout' and 'Timed out' in caught.value.message


async def test_network_down():
    service = TokenService(Settings(api_key=KEY, base_url='http://127.0.0.1:9/v1'), timeout_s=1)
    with pytest.raises(TokenError) as caught:
        await service.mint()
    await service.aclose()
    assert caught.value.kind == 'network' and 'Cannot reach 127.0.0.1:9' in caught.value.message


async def test_one_pooled_connection_serves_many_mints(mint_peer):
    """Each response names the TCP connection it came over (its local address): one for all three mints. A client
    made per mint, or a connection closed after each, would show three."""
    local_addresses = []

    class RecordingTransport(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request):
            response = await super().handle_async_request(request)
            local_addresses.append(response.extensions['network_stream'].get_extra_info('client_addr'))
            return response

    service = TokenService(Settings(api_key=KEY, base_url=mint_peer.url), transport=RecordingTransport())
    for _ in range(3):
        await service.mint()
    await service.aclose()
    assert len(local_addresses) == 3 and None not in local_addresses
    assert len(set(local_addresses)) == 1, f'mints used {len(set(local_addresses))} connections'
