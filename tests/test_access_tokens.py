"""`PageTokens`, a page's only way to a token, against the real token service and a real HTTP mint peer."""
from __future__ import annotations

import asyncio

import pytest

from voice_ui.access import Identity, create_access
from voice_ui.access.page_tokens import PageTokens
from voice_ui.config import Settings
from voice_ui.token_service import EXPIRY_MARGIN_S, TokenError, TokenService

ANA = Identity('ana', 'user:ana', 'header')


def setup(peer, **overrides):
    settings = Settings(api_key='sk-tokens-test', base_url=peer.url, **overrides)
    return TokenService(settings, timeout_s=2), create_access(settings)


def tokens_for(service, access, page='page1', identity=ANA, connected=lambda: True, clock=None):
    extra = {'clock': clock} if clock else {}
    return PageTokens(service, access, identity, page, connected=connected, **extra)


async def test_a_token_is_reused_until_close_to_expiry(mint_peer):
    now = [1000.0]
    mint_peer.ttl_s = 60
    service, access = setup(mint_peer)
    tokens = tokens_for(service, access, clock=lambda: now[0])
    first = await tokens.get('prefetch')
    now[0] = first.expires_at - 60  # the peer stamps real time: align the fake clock to it
    assert (await tokens.get('start')) is first and mint_peer.minted == 1
    now[0] = first.expires_at - EXPIRY_MARGIN_S  # too close: never hand this one out
    second = await tokens.get('start')
    await service.aclose()
    assert second.value != first.value and mint_peer.minted == 2


async def test_no_token_without_a_socket_or_after_sign_out(mint_peer):
    service, access = setup(mint_peer, password='a long password')
    with pytest.raises(TokenError) as caught:
        await tokens_for(service, access, connected=lambda: False).get()
    assert caught.value.kind == 'no_socket'
    sign_in = access.sessions.create('', 'password')
    signed = Identity('', 'ip:127.0.0.1', 'password', sign_in.id)
    tokens = tokens_for(service, access, identity=signed)
    assert (await tokens.get()).value
    access.sessions.end(sign_in.id)
    with pytest.raises(TokenError) as caught:
        await tokens.get()
    await service.aclose()
    assert caught.value.kind == 'signed_out' and 'sign in again' in caught.value.message
    assert mint_peer.minted == 1


async def test_two_tabs_starting_at_once_cannot_both_pass_the_session_limit(mint_peer):
    mint_peer.behaviour = 'slow'  # both requests are in flight together
    service, access = setup(mint_peer, max_sessions=1)
    service._client.timeout = 8
    first, second = tokens_for(service, access, 'tab1'), tokens_for(service, access, 'tab2')
    results = await asyncio.gather(first.get('start'), second.get('start'), return_exceptions=True)
    await service.aclose()
    refused = [r for r in results if isinstance(r, TokenError)]
    assert len(refused) == 1 and refused[0].kind == 'session_limit'


async def test_a_failed_mint_frees_the_reserved_session_and_still_counts(mint_peer):
    service, access = setup(mint_peer, max_sessions=1, mints_per_minute=2)
    tab = tokens_for(service, access, 'tab1')
    mint_peer.behaviour = 500
    with pytest.raises(TokenError):
        await tab.get('start')
    assert access.open_sessions.count('user:ana') == 0
    mint_peer.behaviour = 'ok'
    await tab.get('start')
    tab.status('listening')
    with pytest.raises(TokenError) as caught:  # a second tab of the same person
        await tokens_for(service, access, 'tab2').get('start')
    assert caught.value.kind == 'session_limit'
    tab.close()
    with pytest.raises(TokenError) as caught:  # two mints (one failed) in this minute: the limit
        await tokens_for(service, access, 'tab2').get('start')
    await service.aclose()
    assert caught.value.kind == 'mint_limit' and 'as ana' in caught.value.message and 'Try again in' in \
        caught.value.message
