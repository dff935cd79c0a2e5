"""The access store's two sides agree: the same checks run on the in-memory store and on a real redis-server, and
two `Stores` opened on one Redis (two replicas) share sign-ins and limits. Hostile values in Redis read as nothing.
"""
from __future__ import annotations

import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_ui.access import redis_store
from voice_ui.access.login_binding import ticket_holder
from voice_ui.access.store import open_stores
from voice_ui.config import Settings

from .cluster import Redis

SECRET = 'x' * 40


@pytest.fixture(scope='module')
def redis_server(tmp_path_factory):
    server = Redis(tmp_path_factory.mktemp('redis'))
    yield server
    server.stop()


@pytest.fixture(params=['memory', 'redis'])
def make(request, redis_server):
    """A factory of Stores: every call is one more replica (sharing Redis, or each with its own memory)."""
    redis_server.client.flushdb()
    url = redis_server.url if request.param == 'redis' else ''
    opened = []

    def open_one(**overrides):
        stores = open_stores(Settings(redis_url=url, secret=SECRET, mints_per_minute=3, max_sessions=2, **overrides))
        opened.append(stores)
        return stores
    yield open_one
    for stores in opened:
        getattr(stores.open_sessions, 'close', lambda: None)()


def test_sign_ins_tickets_and_logout(make):
    stores = make()
    sign_ins = stores.sign_ins
    sign_in = sign_ins.create('ana', 'users')
    cookie = sign_ins.cookie_for(sign_in)
    assert sign_ins.from_cookie(cookie).name == 'ana'
    # A character inside the signature: the last one may carry only base64 padding bits (same bytes, still valid).
    tampered = cookie[:-5] + ('A' if cookie[-5] != 'A' else 'B') + cookie[-4:]
    assert sign_ins.from_cookie(tampered) is None and sign_ins.from_cookie('x' * 600) is None
    mine, other = ticket_holder('10.0.0.1', 'a' * 43), ticket_holder('10.0.0.1', 'b' * 43)  # one address, 2 browsers
    ticket = sign_ins.ticket_for(sign_in, mine)
    assert sign_ins.redeem(ticket, other) is None  # another browser behind the same address: and the ticket is spent
    assert sign_ins.redeem(ticket, mine) is None
    ticket = sign_ins.ticket_for(sign_in, mine)
    assert sign_ins.redeem(ticket, '') is None and sign_ins.redeem(ticket, mine) is None  # no binding: spent too
    ticket = sign_ins.ticket_for(sign_in, mine)
    assert sign_ins.redeem(ticket, mine).id == sign_in.id
    assert sign_ins.end(sign_in.id) is not None
    assert sign_ins.from_cookie(cookie) is None and sign_ins.get(sign_in.id) is None


def test_windows_and_session_limits(make):
    stores = make()
    assert [stores.mints.take('user:ana') for _ in range(3)] == [0.0, 0.0, 0.0]
    assert 0 < stores.mints.take('user:ana') <= 60 and 0 < stores.mints.retry_after('user:ana') <= 60
    assert stores.mints.take('user:ben') == 0.0  # per person
    sessions = stores.open_sessions
    assert sessions.try_reserve('user:ana', 'p1') and sessions.try_reserve('user:ana', 'p2')
    assert not sessions.try_reserve('user:ana', 'p3') and sessions.try_reserve('user:ana', 'p1')
    sessions.status('user:ana', 'p1', 'listening')
    assert sessions.holds('user:ana', 'p1') and sessions.count('user:ana') == 2
    sessions.status('user:ana', 'p2', 'closed')
    assert sessions.count('user:ana') == 1 and sessions.try_reserve('user:ana', 'p3')


def test_a_reservation_lasts_as_long_as_asked_and_is_only_lengthened(make):
    """A page's reservation lives as long as the token it was given (page_tokens.py): a shorter ask later (the same
    token asked for again) does not shorten it, and it lapses by itself."""
    sessions = make().open_sessions
    assert sessions.try_reserve('user:bo', 'p1', 1.0) and sessions.try_reserve('user:bo', 'p1', 0.1)
    time.sleep(0.4)
    assert sessions.holds('user:bo', 'p1') and sessions.count('user:bo') == 1  # still held: 1 s was asked first
    time.sleep(0.8)
    assert sessions.count('user:bo') == 0 and not sessions.holds('user:bo', 'p1')


def test_two_replicas_share_everything_only_through_redis(make, request):
    a, b = make(), make()
    shared = request.node.callspec.params['make'] == 'redis'
    sign_in = a.sign_ins.create('ana', 'users')
    assert (b.sign_ins.from_cookie(a.sign_ins.cookie_for(sign_in)) is not None) == shared
    for _ in range(3):
        a.mints.take('user:ana')
    assert (b.mints.take('user:ana') > 0) == shared
    a.open_sessions.status('user:ana', 'p1', 'listening')
    a.open_sessions.status('user:ana', 'p2', 'speaking')
    assert b.open_sessions.try_reserve('user:ana', 'p3') != shared
    a.sign_ins.end(sign_in.id)
    assert b.sign_ins.get(sign_in.id) is None


def test_concurrent_reservations_on_two_replicas_never_exceed_the_limit(make):
    a, b = make(), make()
    granted = []
    barrier = threading.Barrier(8)

    def start(stores, page):
        barrier.wait()
        if stores.open_sessions.try_reserve('user:cy', page):
            granted.append(page)
    threads = [threading.Thread(target=start, args=(s, f'p{i}')) for i, s in enumerate([a, b] * 4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    # In memory each replica counts only its own (2 each); in Redis the two together hold the limit of 2.
    assert len(granted) == (4 if a.kind == 'memory' else 2)


def test_a_dead_replicas_open_sessions_expire_with_their_lease(redis_server, monkeypatch):
    redis_server.client.flushdb()
    monkeypatch.setattr(redis_store, 'LEASE_S', 0.5)
    monkeypatch.setattr(redis_store, 'RENEW_S', 0.1)
    settings = Settings(redis_url=redis_server.url, secret=SECRET, max_sessions=1)
    dead, alive = open_stores(settings), open_stores(settings)
    dead.open_sessions.status('user:dee', 'p1', 'listening')
    time.sleep(1.0)  # renewed meanwhile: still open
    assert not alive.open_sessions.try_reserve('user:dee', 'p2')
    dead.open_sessions.close()  # the replica dies: nobody renews
    time.sleep(1.0)
    assert alive.open_sessions.try_reserve('user:dee', 'p2')
    alive.open_sessions.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=200))
def test_garbage_in_redis_reads_as_no_sign_in(redis_server, junk):
    stores = open_stores(Settings(redis_url=redis_server.url, secret=SECRET))
    sign_in = stores.sign_ins.create('ana', 'users')
    ticket = stores.sign_ins.ticket_for(sign_in, '10.0.0.1')
    redis_server.client.set(f'voice_ui:signin:{redis_store.digest(sign_in.id)}', junk)
    redis_server.client.set(f'voice_ui:ticket:{redis_store.digest(ticket)}', junk)
    assert stores.sign_ins.get(sign_in.id) is None
    assert stores.sign_ins.redeem(ticket, '10.0.0.1') is None
    stores.open_sessions.close()


def test_redis_needs_a_shared_secret():
    with pytest.raises(SystemExit, match='VOICE_UI_SECRET'):
        open_stores(Settings(redis_url='redis://127.0.0.1:1/0'))
    with pytest.raises(SystemExit, match='at least 32'):
        open_stores(Settings(redis_url='redis://127.0.0.1:1/0', secret='short'))
