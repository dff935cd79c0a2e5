import pytest

from tests.mint_peer import running_mint_peer


@pytest.fixture(autouse=True)
def _user_simulation_host(monkeypatch):
    """NiceGUI's User simulation sends `Host: test`; the app answers only to allowed host names (issue 9)."""
    monkeypatch.setenv('VOICE_UI_ALLOWED_HOSTS', 'test')


@pytest.fixture(scope='session')
def _mint_peer_server():
    with running_mint_peer() as peer:
        yield peer


@pytest.fixture
def mint_peer(_mint_peer_server):
    """A real HTTP peer for token minting, reset for each test."""
    peer = _mint_peer_server
    peer.behaviour, peer.ttl_s, peer.minted = 'ok', None, 0
    peer.requests.clear()
    return peer
