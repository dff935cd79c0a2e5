"""Issue 18 in real Chromium: signed in through nginx on replica A, A is killed; the open page reconnects, reloads
itself onto replica B (nginx re-hashes A's route cookie) and is still signed in there, without a sign-in page, with
the conversation so far (the tab id NiceGUI keeps in sessionStorage survives the reload; B reads the transcript A
kept in Redis)."""
from __future__ import annotations

import signal
import time

import pytest

from tests.support import TESTDATA

from tests.e2e.harness import chromium_args

from .cluster import Cluster, start_cluster

PASSWORD = 'correct horse battery'


@pytest.fixture(scope='module')
def cluster(tmp_path_factory, _mint_peer_server) -> Cluster:
    env = {'OPENAI_API_KEY': 'sk-failover-test', 'OPENAI_BASE_URL': _mint_peer_server.url,
           'VOICE_UI_PASSWORD': PASSWORD, 'VOICE_UI_SECRET': 'another-test-secret-for-both-replicas-9876543210',
           'VOICE_UI_TRUSTED_PROXIES': '127.0.0.1'}
    cluster = start_cluster(tmp_path_factory.mktemp('failover'), env)
    yield cluster
    cluster.stop()


def test_the_open_page_moves_to_the_surviving_replica_still_signed_in(playwright, chromium, cluster):
    route = cluster.routes['a']
    browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                         args=chromium_args(TESTDATA / 'weather.mic48k.wav'))
    try:
        context = browser.new_context()
        context.add_cookies([{'name': 'voice_ui_route', 'value': route, 'url': cluster.url}])
        page = context.new_page()
        page.goto(cluster.url + '/')
        page.get_by_label('Password').fill(PASSWORD)
        page.get_by_role('button', name='Sign in').click()
        page.get_by_text('Signed in with the shared password').wait_for(timeout=45_000)
        page.wait_for_function('window.did_handshake === true', timeout=45_000)
        before = page.evaluate('window.clientId')
        assert cluster.replica_for(route) == 'a'
        say(page, 'item_u1', 'user', 'what is the tide in Porto')
        say(page, 'item_a1', 'assistant', 'high tide in Porto is at noon')
        page.get_by_text('high tide in Porto is at noon').wait_for(timeout=30_000)
        time.sleep(2.5)  # the keeper's coalesced write (at most one a second) has reached Redis

        cluster.apps['a'].process.send_signal(signal.SIGKILL)
        cluster.apps['a'].process.wait(10)
        page.wait_for_function(f'window.clientId && window.clientId !== {before!r} && window.did_handshake === true',
                               timeout=90_000, polling=500)
        assert page.url.rstrip('/') == cluster.url  # the voice page again, not the sign-in page
        page.get_by_text('Signed in with the shared password').wait_for(timeout=45_000)
        assert page.get_by_role('button', name='Start Speaking').is_enabled()
        page.get_by_text('high tide in Porto is at noon').wait_for(timeout=30_000)  # restored by B
        assert page.get_by_text('what is the tide in Porto').is_visible()
        assert page.get_by_text('The conversation so far was restored').is_visible()
        assert cluster.replica_for(route) == 'b'
        time.sleep(1)  # the socket stays bound: no further reload
        assert page.evaluate('window.clientId') != before and page.evaluate('window.did_handshake') is True
    finally:
        browser.close()


def say(page, item_id: str, role: str, text: str) -> None:
    """A turn's transcript as the component emits it (deltas, then the done text), from the page's own element."""
    element = int(page.locator('.voice-ui-session').get_attribute('id').lstrip('c'))
    for word in text.split():
        page.evaluate('([id, e]) => getElement(id).$emit("transcript", e)',
                      [element, {'item_id': item_id, 'role': role, 'delta': word + ' '}])
    page.evaluate('([id, e]) => getElement(id).$emit("transcript", e)',
                  [element, {'item_id': item_id, 'role': role, 'delta': text, 'replace': True, 'final': True}])
