"""Issue 18: two app replicas behind nginx (deploy/nginx.conf) sharing access state in Redis.

Sign in through replica A and the cookie works on B; a logout through A ends the sign-in on B; a mint limit and a
session limit reached partly through A and partly through B hold on both; a replica killed mid-conversation sends
its people to the other, where NiceGUI's page reloads and they are still signed in. Every refusal has a control.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from tests.support import REPO
from voice_ui.access.sessions import cookie_serializer
from voice_ui.access.users_file import hash_password

from .cluster import Cluster, start_cluster
from .visitor import Visitor, wait_for

KEY = 'sk-replica-test-key'
PASSWORD = 'correct horse battery'
USERS = ('ana', 'ben', 'cy', 'dee', 'eve', 'fay')
MINTS, SESSIONS = 3, 2
SECRET = 'a-test-secret-shared-by-both-replicas-0123456789'


@pytest.fixture(scope='module')
def cluster(tmp_path_factory, _mint_peer_server) -> Cluster:
    workdir = tmp_path_factory.mktemp('cluster')
    users = workdir / 'users.txt'
    users.write_text(''.join(f'{name}:{hash_password(PASSWORD).encode()}\n' for name in USERS))
    env = {'OPENAI_API_KEY': KEY, 'OPENAI_BASE_URL': _mint_peer_server.url, 'VOICE_UI_USERS_FILE': str(users),
           'VOICE_UI_SECRET': SECRET,
           'VOICE_UI_TRUSTED_PROXIES': '127.0.0.1',
           'VOICE_UI_MINTS_PER_MINUTE': str(MINTS), 'VOICE_UI_MAX_SESSIONS': str(SESSIONS)}
    cluster = start_cluster(workdir, env)
    cluster.users_file = users
    yield cluster
    cluster.stop()


def other(cluster: Cluster, name: str) -> str:
    return next(n for n in cluster.routes if n != name)


async def test_nginx_is_sticky_and_the_route_cookie_is_set_once(cluster):
    async with httpx.AsyncClient(base_url=cluster.url) as http:
        first = await http.get('/healthz')
        assert 'voice_ui_route=' in first.headers.get('set-cookie', '')
        replicas = {(await http.get('/healthz')).json()['replica'] for _ in range(10)}
        assert len(replicas) == 1 and 'set-cookie' not in (await http.get('/healthz')).headers
    assert httpx.get(cluster.url + '/metrics').status_code == 404  # not through the balancer
    assert 'voice_ui_up' in httpx.get(cluster.apps['a'].url + '/metrics').text  # on the replica, from loopback


async def test_a_sign_in_through_a_works_on_b_and_a_logout_through_a_ends_it_on_b(cluster):
    a, b = cluster.routes['a'], cluster.routes['b']
    visitor = Visitor(cluster.url, a)
    try:
        await visitor.sign_in('ana', PASSWORD)
        cookie = visitor.http.cookies.get('voice_ui_session')
        visitor.route(b)
        response, page = await visitor.open('/')
        assert response.url.path == '/' and 'Signed in as ana' in response.text  # rendered by B, no sign-in asked
        await visitor.join(page)
        assert not page.refused
        await visitor.start_speaking(page)
        assert page.tokens(), page.received  # B mints for a sign-in made on A
        visitor.route(a)
        await visitor.http.get('/logout')  # through A; the jar drops the cookie, so replay it by hand
        visitor.http.cookies.set('voice_ui_session', cookie)
        visitor.route(b)
        response, _ = await visitor.open('/')
        assert response.url.path == '/login'
    finally:
        await visitor.close()


async def test_a_logged_out_cookie_replayed_on_the_other_replica_gets_nothing(cluster):
    a, b = cluster.routes['a'], cluster.routes['b']
    visitor = Visitor(cluster.url, a)
    try:
        await visitor.sign_in('dee', PASSWORD)
        cookie = visitor.http.cookies.get('voice_ui_session')
        assert cookie
        await visitor.http.get('/logout')  # through A
        replay = Visitor(cluster.url, b)
        replay.http.cookies.set('voice_ui_session', cookie)
        response, _ = await replay.open('/')
        assert response.url.path == '/login'  # B knows the sign-in ended
        await replay.close()
    finally:
        await visitor.close()


async def test_a_mint_limit_reached_through_a_holds_on_b(cluster, mint_peer):
    a, b = cluster.routes['a'], cluster.routes['b']
    visitor = Visitor(cluster.url, a)
    pages = []
    try:
        await visitor.sign_in('ben', PASSWORD)
        for _ in range(MINTS):  # each page mints once, then closes its session (below the session limit)
            _, page = await visitor.open('/')
            await visitor.join(page)
            await visitor.start_speaking(page)
            assert page.tokens(), page.received
            await visitor.report_status(page, 'closed')
            pages.append(page)
        visitor.route(b)
        _, page = await visitor.open('/')
        await visitor.join(page)
        await visitor.start_speaking(page)
        pages.append(page)
        assert not page.tokens() and f'the limit is {MINTS} a minute' in page.text()
    finally:
        await visitor.close(*pages)


async def test_a_session_limit_counts_sessions_open_on_both_replicas(cluster):
    a, b = cluster.routes['a'], cluster.routes['b']
    visitor = Visitor(cluster.url, a)
    pages = []
    try:
        await visitor.sign_in('cy', PASSWORD)
        for route in (a, b):  # one open session on each replica: the limit (2) is reached
            visitor.route(route)
            _, page = await visitor.open('/')
            await visitor.join(page)
            await visitor.start_speaking(page)
            assert page.tokens(), page.received
            await visitor.report_status(page, 'listening')
            pages.append(page)
        _, third = await visitor.open('/')  # on B
        await visitor.join(third)
        await visitor.start_speaking(third)
        pages.append(third)
        assert not third.tokens() and f'You already have {SESSIONS} voice sessions open' in third.text()
    finally:
        await visitor.close(*pages)


async def open_pages(visitor: Visitor, cluster: Cluster) -> dict[str, object]:
    """One joined voice page on each replica, for the visitor's sign-in."""
    pages = {}
    for name in ('a', 'b'):
        visitor.route(cluster.routes[name])
        _, page = await visitor.open('/')
        await visitor.join(page)
        assert not page.refused
        pages[name] = page
    return pages


def sent_away(page) -> bool:
    return any(event == 'open' and '/logout' in json.dumps(data) for event, data in page.received)


async def test_a_logout_on_a_sends_the_open_page_on_b_away_at_once_and_closes_its_socket(cluster):
    visitor = Visitor(cluster.url, cluster.routes['a'])
    bystander = Visitor(cluster.url, cluster.routes['b'])  # the same person in another browser: another sign-in
    try:
        await visitor.sign_in('eve', PASSWORD)
        await bystander.sign_in('eve', PASSWORD)
        pages = await open_pages(visitor, cluster)
        _, theirs = await bystander.open('/')
        await bystander.join(theirs)
        visitor.route(cluster.routes['a'])
        await visitor.http.get('/logout')
        await wait_for(lambda: sent_away(pages['b']), 3)  # pub/sub: within moments, not at the next sweep (5 s)
        assert sent_away(pages['b']) and sent_away(pages['a'])
        await wait_for(lambda: not pages['b'].sio.connected, 5)
        assert not pages['b'].sio.connected  # the server closed B's socket: ignoring the navigation keeps nothing
        await visitor.join(pages['b'])
        assert pages['b'].refused  # and the page cannot bind a socket again
        assert theirs.sio.connected and not sent_away(theirs)  # control: eve's other sign-in is untouched
    finally:
        await visitor.close(*pages.values())
        await bystander.close()


async def test_users_remove_ends_the_name_s_open_pages_on_every_replica(cluster):
    visitor = Visitor(cluster.url, cluster.routes['a'])
    other_person = Visitor(cluster.url, cluster.routes['b'])
    try:
        await visitor.sign_in('fay', PASSWORD)
        await other_person.sign_in('ben', PASSWORD)
        pages = await open_pages(visitor, cluster)
        _, bens = await other_person.open('/')
        await other_person.join(bens)
        command = [sys.executable, '-m', 'voice_ui.users', 'remove', 'fay', '--file', str(cluster.users_file)]
        removed = await asyncio.to_thread(  # off the loop: the pages' sockets keep answering meanwhile
            subprocess.run, command, capture_output=True, text=True, timeout=60, cwd=REPO,
            env={**os.environ, 'NICEGUI_REDIS_URL': cluster.redis.url})
        assert removed.returncode == 0 and 'ended 1 open sign-in of fay on every replica' in removed.stdout, removed
        await wait_for(lambda: sent_away(pages['a']) and sent_away(pages['b']), 3)
        assert sent_away(pages['a']) and sent_away(pages['b'])
        assert not sent_away(bens) and bens.sio.connected  # control: another person stays
        again = Visitor(cluster.url, cluster.routes['b'])
        with pytest.raises(AssertionError):  # the replicas re-read the file: fay signs in nowhere any more
            await again.sign_in('fay', PASSWORD)
        await again.close()
    finally:
        await visitor.close(*pages.values())
        await other_person.close()


@pytest.mark.skipif(os.name != 'posix', reason='kills a replica with SIGKILL')
async def test_a_replica_killed_mid_conversation_sends_its_people_to_the_other(cluster):
    victim = 'a'
    survivor = other(cluster, victim)
    route = cluster.routes[victim]
    visitor = Visitor(cluster.url, route)
    try:
        await visitor.sign_in('dee', PASSWORD)
        _, page = await visitor.open('/')
        await visitor.join(page)
        await visitor.start_speaking(page)
        assert page.tokens(), page.received
        await visitor.report_status(page, 'listening')  # mid-conversation
        await visitor.say(page, 'item_u1', 'user', 'is it raining in Lisbon')
        await visitor.say(page, 'item_a1', 'assistant', 'no it is sunny in Lisbon today')
        await asyncio.sleep(2.5)  # the keeper's coalesced write (one per second) has gone to Redis
        cluster.apps[victim].process.send_signal(signal.SIGKILL)
        cluster.apps[victim].process.wait(10)
        assert cluster.replica_for(route) == survivor  # nginx re-hashes the dead replica's route cookies
        # nicegui.js reconnects with the page's id; the survivor never rendered that page, so it refuses with the
        # words on which nicegui.js reloads the page ...
        await visitor.join(page)
        assert page.refused == 'Implicit handshake failed'
        # ... and the reload is rendered by the survivor, still signed in, and can talk again.
        response, reloaded = await visitor.open('/')
        assert 'Signed in as dee' in response.text
        await visitor.join(reloaded)
        assert not reloaded.refused
        # ... with the conversation so far: the survivor restores the tab's kept transcript once its socket binds
        await wait_for(lambda: 'no it is sunny in Lisbon today' in reloaded.text(), 10)
        assert 'is it raining in Lisbon' in reloaded.text() and 'was restored' in reloaded.text()
        await visitor.start_speaking(reloaded)
        assert reloaded.tokens(), reloaded.received
        # another tab of the same person (another tab id) does not get it, nor does another person on that tab id
        stranger = Visitor(cluster.url, route)
        try:
            await stranger.sign_in('cy', PASSWORD)
            stranger.tab_id = visitor.tab_id
            _, theirs = await stranger.open('/')
            await stranger.join(theirs)
            await asyncio.sleep(2)
            assert not theirs.refused and 'Lisbon' not in theirs.text()
        finally:
            await stranger.close()
    finally:
        await visitor.close()


async def test_without_redis_a_replica_is_not_ready_and_fails_closed(cluster):
    """Runs last: stops the shared Redis. Readiness says why; a request that needs a sign-in check gets 503, never
    an open door; health stays green (the process itself is fine, a restart would not help)."""
    survivor = next(app for app in cluster.apps.values() if app.process.poll() is None)
    assert httpx.get(survivor.url + '/readyz').status_code == 200  # control
    cluster.redis.stop()
    ready = httpx.get(survivor.url + '/readyz', timeout=10)
    assert ready.status_code == 503 and ready.json()['problem'].startswith('redis')
    assert httpx.get(survivor.url + '/healthz').status_code == 200
    signed = cookie_serializer(SECRET.encode()).dumps('a-session-id-only-redis-could-vouch-for')
    page = httpx.get(survivor.url + '/', cookies={'voice_ui_session': signed}, timeout=10)
    assert page.status_code == 503 and 'Signed in' not in page.text  # a well-signed cookie is not enough
