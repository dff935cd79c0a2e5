"""Issue 9's attack against the real app (`python main.py` in its own process, minting on a local OpenAI stand-in):
no token reaches a client that has not signed in, foreign Host and Origin are refused, and plain page loads
mint nothing. Each refusal is paired with a control run of the same script that does get a token."""
from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from tests.access_attacker import attack, sign_in_by_script, ticket_by_script
from tests.e2e.harness import ServerProcess
from tests.support import free_port

KEY = 'sk-attack-test-key'


def start_app(name: str, peer, **env: str) -> ServerProcess:
    port = free_port()
    app = ServerProcess(name, ['main.py', '--port', str(port), '--no-browser'], port,
                        env={'OPENAI_API_KEY': KEY, 'OPENAI_BASE_URL': peer.url, **env})
    return app.wait_ready()


@pytest.fixture(scope='module')
def open_app(_mint_peer_server):
    """Loopback, no sign-in: today's `python main.py`."""
    app = start_app('access-open', _mint_peer_server)
    yield app
    app.stop()


@pytest.fixture(scope='module')
def password_app(_mint_peer_server):
    app = start_app('access-password', _mint_peer_server, VOICE_UI_PASSWORD='correct horse battery')
    yield app
    app.stop()


@pytest.fixture(scope='module')
def two_session_app(_mint_peer_server):
    """Loopback, no sign-in, two voice sessions per address."""
    app = start_app('access-two-sessions', _mint_peer_server, VOICE_UI_MAX_SESSIONS='2')
    yield app
    app.stop()


@pytest.fixture(scope='module')
def proxy_app(_mint_peer_server):
    """Behind an authenticating proxy; this test process plays the proxy (127.0.0.1)."""
    app = start_app('access-proxy', _mint_peer_server, VOICE_UI_AUTH_HEADER='X-Forwarded-User',
                    VOICE_UI_TRUSTED_PROXIES='127.0.0.1/32')
    yield app
    app.stop()


async def test_fifty_plain_page_loads_mint_nothing(open_app, mint_peer):
    async with httpx.AsyncClient(base_url=open_app.url) as http:
        for _ in range(50):
            assert (await http.get('/')).status_code == 200
    assert mint_peer.minted == 0 and not mint_peer.requests


async def test_control_a_same_origin_script_on_loopback_gets_a_token(open_app, mint_peer):
    """Loopback use without sign-in stays open: the attack script itself works when nothing stops it."""
    result = await attack(open_app.url, origin=open_app.url)
    assert result.connected and result.tokens(), result
    assert mint_peer.minted >= 1
    assert KEY not in str(result.received)


async def test_foreign_host_is_refused_before_any_page(open_app, mint_peer):
    result = await attack(open_app.url, host='evil.example', origin='http://evil.example')
    assert result.page_status == 421 and result.client_id is None
    rebinding = await attack(open_app.url, host=f'evil.example:{open_app.port}',
                             origin=f'http://evil.example:{open_app.port}')
    assert rebinding.page_status == 421 and rebinding.client_id is None
    assert mint_peer.minted == 0


async def test_missing_host_is_a_bad_request(open_app):
    with socket.create_connection(('127.0.0.1', open_app.port), timeout=5) as sock:
        sock.sendall(b'GET / HTTP/1.0\r\n\r\n')
        assert sock.recv(100).split(b'\r\n')[0].endswith(b'400 Bad Request')


async def test_foreign_origin_cannot_join_the_socket(open_app, mint_peer):
    result = await attack(open_app.url, origin='http://evil.example')
    assert result.page_status == 200 and result.client_id  # a page load carries no Origin worth refusing
    assert not result.connected and not result.tokens()
    # The socket's own Host is checked as well: a stolen client id through a rebinding name gets nowhere.
    stolen = await attack(open_app.url, host='evil.example', client_id=result.client_id)
    assert not stolen.connected and not stolen.tokens()
    assert mint_peer.minted == 0


async def test_foreign_origin_polling_gets_no_cors_grant(open_app):
    async with httpx.AsyncClient(base_url=open_app.url) as http:
        response = await http.get('/_nicegui_ws/socket.io/?EIO=4&transport=polling',
                                  headers={'Origin': 'http://evil.example'})
    assert response.status_code in (400, 403)
    assert response.headers.get('access-control-allow-origin') in (None, '')


async def test_without_sign_in_no_token_reaches_the_script(password_app, mint_peer):
    result = await attack(password_app.url, origin=password_app.url)
    assert result.page_url.endswith('/login?next=%2F')  # sent to the login page
    assert result.connected  # the login page's socket is public, but it has nothing that mints
    assert not result.tokens() and mint_peer.minted == 0
    async with httpx.AsyncClient(base_url=password_app.url) as http:
        for _ in range(50):
            assert (await http.get('/')).status_code == 303
        api = await http.get('/', headers={'Accept': 'application/json'})
        assert api.status_code == 401
        faults = await http.get('/v1/_local/sessions')
        assert faults.status_code in (303, 401, 404)
    forged_cookie = {'voice_ui_session': 'ImZha2Ui.aGVsbG8.forged-signature'}
    async with httpx.AsyncClient(base_url=password_app.url, cookies=forged_cookie) as http:
        forged = await http.get('/')
    assert forged.status_code == 303 and forged.headers['location'].startswith('/login')
    assert mint_peer.minted == 0


async def test_a_signed_in_page_answers_only_its_own_sign_in(password_app, mint_peer):
    http = await sign_in_by_script(password_app.url, 'correct horse battery', origin=password_app.url)
    try:
        cookie = http.cookies['voice_ui_session']
        signed_in = {'Cookie': f'voice_ui_session={cookie}'}
        control = await attack(password_app.url, origin=password_app.url, headers=signed_in, wait_s=2)
        assert control.connected and control.tokens(), control  # the script, signed in, does get a token
        minted = mint_peer.minted
        page = await attack(password_app.url, origin=password_app.url, headers=signed_in, wait_s=0, press=False)
        forged = {'Cookie': f'voice_ui_session={cookie[:-4]}AAAA'}
        for headers in ({}, forged):  # the page's id, without its sign-in
            stolen = await attack(password_app.url, origin=password_app.url, headers=headers,
                                  client_id=page.client_id)
            assert not stolen.connected and not stolen.tokens()
        await http.get('/logout')
        after = await attack(password_app.url, origin=password_app.url, headers=signed_in)  # the old cookie
        assert after.page_url.endswith('/login?next=%2F') and not after.tokens()
        replayed = await attack(password_app.url, origin=password_app.url, headers=signed_in,
                                client_id=page.client_id)
        assert not replayed.connected and not replayed.tokens()
        assert mint_peer.minted == minted
    finally:
        await http.aclose()


async def test_proxy_header_is_believed_only_as_sent_by_the_proxy(proxy_app, mint_peer):
    refused = await attack(proxy_app.url, origin=proxy_app.url)
    assert refused.page_status == 401 and refused.client_id is None
    alice = await attack(proxy_app.url, origin=proxy_app.url, headers={'X-Forwarded-User': 'alice'}, wait_s=2)
    assert alice.connected and alice.tokens(), alice  # control: the signed-in person gets a token
    minted = mint_peer.minted
    page = await attack(proxy_app.url, origin=proxy_app.url, headers={'X-Forwarded-User': 'alice'}, wait_s=0,
                        press=False)
    for headers in ({}, {'X-Forwarded-User': 'mallory'}):  # alice's page id, without her identity
        stolen = await attack(proxy_app.url, origin=proxy_app.url, headers=headers, client_id=page.client_id)
        assert not stolen.connected and not stolen.tokens()
    assert mint_peer.minted == minted


async def test_a_ticket_signs_in_only_the_browser_whose_login_page_asked_for_it(password_app, mint_peer):
    """Behind a reverse proxy without VOICE_UI_TRUSTED_PROXIES everyone has the proxy's address (here: all of us are
    127.0.0.1). An attacker signs in with their own password and sends the victim to the ticket's URL (a link, an
    <img>): the victim must not end up signed in as the attacker (login CSRF: what they say lands in the attacker's
    conversation, the attacker's settings apply to them)."""
    attacker, path = await ticket_by_script(password_app.url, 'correct horse battery', origin=password_app.url)
    await attacker.aclose()
    async with httpx.AsyncClient(base_url=password_app.url, timeout=10) as victim:
        assert (await victim.get('/login')).status_code == 200  # the victim has a login page (and cookie) of its own
        planted = await victim.get(path, headers={'Sec-Fetch-Site': 'cross-site'})
        assert planted.status_code == 303 and planted.headers['location'] == '/login', planted.headers
        assert 'voice_ui_session' not in victim.cookies
        assert (await victim.get('/')).status_code == 303  # still not signed in
    attacker, path = await ticket_by_script(password_app.url, 'correct horse battery', origin=password_app.url)
    async with httpx.AsyncClient(base_url=password_app.url, timeout=10) as bare:  # no cookie at all
        assert (await bare.get(path)).headers['location'] == '/login' and 'voice_ui_session' not in bare.cookies
    await attacker.aclose()
    own, path = await ticket_by_script(password_app.url, 'correct horse battery', origin=password_app.url)
    try:  # control: the browser that loaded the login page is signed in by its ticket
        signed_in = await own.get(path, follow_redirects=False)
        assert signed_in.status_code == 303 and own.cookies.get('voice_ui_session')
        assert (await own.get('/')).status_code == 200
    finally:
        await own.aclose()
    assert mint_peer.minted == 0


async def test_silent_scripts_get_no_more_tokens_at_once_than_the_session_limit(two_session_app, mint_peer):
    """Scripts that ask for a prefetch and never report a status: before, a prefetch reserved nothing, so every
    page got a token to open sessions with (browser→OpenAI, out of the server's sight) up to the mint limit."""
    url = two_session_app.url
    scripts = await asyncio.gather(*(attack(url, origin=url, reason='prefetch', wait_s=3) for _ in range(4)))
    assert all(script.connected for script in scripts), scripts
    holding = [script for script in scripts if script.tokens()]
    assert len(holding) == 2 == mint_peer.minted, [s.received for s in scripts]
    assert all('voice sessions open (the limit)' in str(s.received) for s in scripts if not s.tokens())


def test_a_key_beyond_loopback_without_sign_in_refuses_to_start(mint_peer):
    port = free_port()
    app = ServerProcess('access-refused', ['main.py', '--host', '0.0.0.0', '--port', str(port), '--no-browser'],
                        port, env={'OPENAI_API_KEY': KEY, 'OPENAI_BASE_URL': mint_peer.url})
    try:
        assert app.process.wait(60) != 0
        log = app.log_tail()
    finally:
        app.stop()
    assert 'Refusing to start' in log and 'VOICE_UI_PASSWORD' in log and '--public' in log
    assert KEY not in log
