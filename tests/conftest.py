import pytest

from tests.mint_peer import start_mint_peer


@pytest.fixture(scope='session')
def _mint_peer_server():
    peer, server = start_mint_peer()
    yield peer
    server.should_exit = True


@pytest.fixture
def mint_peer(_mint_peer_server):
    """A real HTTP peer for token minting, reset for each test."""
    peer = _mint_peer_server
    peer.behaviour, peer.ttl_s, peer.minted = 'ok', None, 0
    peer.requests.clear()
    return peer
