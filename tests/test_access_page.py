"""Signing in, out and being limited, as a person meets it (NiceGUI's User simulation; the browser's token
requests are fed with `.trigger('token_wanted', ...)`, its statuses with `.trigger('status', ...)`)."""
from __future__ import annotations

import logging
import time

import pytest
from nicegui.testing import User

from nicegui.events import GenericEventArguments

from tests.test_page import until
from voice_ui.access.users_file import hash_password
from voice_ui.realtime_session import RealtimeSession

PASSWORD = 'correct horse battery'


@pytest.fixture
def openai_env(mint_peer, monkeypatch):
    monkeypatch.setenv('OPENAI_API_KEY', 'sk-test-access-key')
    monkeypatch.setenv('OPENAI_BASE_URL', mint_peer.url)
    return mint_peer


@pytest.fixture
def shared_password(openai_env, monkeypatch):
    monkeypatch.setenv('VOICE_UI_PASSWORD', PASSWORD)
    return openai_env


@pytest.fixture
def users_file(openai_env, monkeypatch, tmp_path):
    path = tmp_path / 'users.txt'
    path.write_text(f'# the team\nana:{hash_password("ana-secret-1").encode()}\n'
                    f'ben:{hash_password("ben-secret-2").encode()}\n')
    monkeypatch.setenv('VOICE_UI_USERS_FILE', str(path))
    return openai_env


@pytest.fixture
def two_mints_a_minute(monkeypatch):
    monkeypatch.setenv('VOICE_UI_MINTS_PER_MINUTE', '2')  # before `user`: the app reads it when it starts


@pytest.fixture
def one_session_each(monkeypatch):
    monkeypatch.setenv('VOICE_UI_MAX_SESSIONS', '1')


def relay_token_failure(self: RealtimeSession, message: str) -> None:
    """What the browser does with `token_failed` while a Start waits: it reports it on the error channel."""
    self._error(GenericEventArguments(sender=self, client=self.client,
                                      args={'source': 'token', 'code': 'mint_failed', 'message': message}))


@pytest.fixture
def sent_tokens(user: User, monkeypatch):
    """Tokens the page hands to the browser (`provide_token` answers to `token_wanted`)."""
    tokens = []
    monkeypatch.setattr(RealtimeSession, 'provide_token', lambda self, value, expires_at: tokens.append(value))
    monkeypatch.setattr(RealtimeSession, 'token_failed', relay_token_failure)
    return tokens


def press_start(user: User) -> None:
    """Start without a held token: the browser asks for one (the gesture itself is handled in the browser)."""
    user.find(RealtimeSession).trigger('token_wanted', {'reason': 'start'})


async def sign_in(user: User, password: str, name: str | None = None) -> None:
    if name is not None:
        user.find(marker='name').type(name)
    user.find(marker='password').type(password)
    user.find(marker='sign-in').click()


async def test_shared_password_sign_in_then_out(shared_password, user: User, caplog):
    caplog.set_level(logging.DEBUG)
    await user.open('/')
    await user.should_see('Sign in to talk.')
    await user.should_not_see('Start Speaking')
    await sign_in(user, PASSWORD)
    await user.should_see('Start Speaking', retries=30)
    await user.should_see('Signed in with the shared password')
    cookie = user.http_client.cookies.get('voice_ui_session')
    assert cookie
    user.find(marker='sign-out').click()
    await user.should_see('Sign in to talk.', retries=30)
    assert 'voice_ui_session' not in user.http_client.cookies
    user.http_client.cookies.set('voice_ui_session', cookie)  # the old cookie, replayed after logout
    await user.open('/')
    await user.should_see('Sign in to talk.')
    logged = caplog.text
    assert PASSWORD not in logged and cookie not in logged and 'sk-test-access-key' not in logged


async def test_wrong_password_and_unknown_name_look_the_same(users_file, user: User):
    await user.open('/')
    answers = []
    for name, password in (('ana', 'wrong-password'), ('nobody', 'ana-secret-1'), ('', '')):
        started = time.monotonic()
        await sign_in(user, password, name)
        await user.should_see('Wrong name or password.', retries=40)
        answers.append(time.monotonic() - started)
        user.find(marker='name').clear()
        user.find(marker='message').elements.pop().text = ''
    assert all(seconds >= 1.0 for seconds in answers), answers  # the same delay, whatever was wrong
    await sign_in(user, 'ana-secret-1', 'ana')
    await user.should_see('Signed in as ana', retries=30)
    assert users_file.minted == 0


async def test_repeated_failures_are_limited_per_address(shared_password, user: User):
    from voice_ui.access import core
    await user.open('/')
    for _ in range(core.LOGIN_ATTEMPTS):
        await sign_in(user, 'not the password')
        await until(lambda: 'Wrong password.' in message_text(user), timeout=5)
        user.find(marker='message').elements.pop().text = ''
    await sign_in(user, PASSWORD)  # even the right password waits now: the address is locked out for a while
    await user.should_see('Too many failed sign-ins from this address. Try again in', retries=30)


def message_text(user: User) -> str:
    return next(iter(user.find(marker='message').elements)).text


async def test_a_page_mints_only_when_the_browser_asks(openai_env, user: User, sent_tokens):
    for _ in range(5):
        await user.open('/')
    assert openai_env.minted == 0
    session = user.find(RealtimeSession)
    session.trigger('token_wanted', {'reason': 'prefetch'})
    await until(lambda: sent_tokens, timeout=10)
    session.trigger('token_wanted', {'reason': 'start'})
    await until(lambda: len(sent_tokens) == 2, timeout=10)
    assert openai_env.minted == 1 and 'ek_test_1' in sent_tokens[0] and 'ek_test_1' in sent_tokens[1]


async def test_mints_per_minute_are_limited_with_a_retry_time(openai_env, two_mints_a_minute, user: User,
                                                              sent_tokens):
    openai_env.ttl_s = 5  # shorter than the expiry margin: every request needs a fresh mint
    await user.open('/')
    for turn in range(1, 3):
        press_start(user)
        await until(lambda: len(sent_tokens) == turn == openai_env.minted, timeout=10)  # noqa: B023
        user.find(RealtimeSession).trigger('status', {'status': 'idle'})
    press_start(user)
    await user.should_see('Too many sessions were started from this address in the last minute '
                          '(the limit is 2 a minute). Try again in', retries=50)
    assert openai_env.minted == 2


async def test_open_sessions_are_limited_per_person(users_file, one_session_each, create_user, monkeypatch):
    first, second = create_user(), create_user()
    for person in (first, second):
        await person.open('/')
        await sign_in(person, 'ana-secret-1', 'ana')
        await person.should_see('Signed in as ana', retries=30)
    given = []
    monkeypatch.setattr(RealtimeSession, 'provide_token', lambda self, value, expires_at: given.append(value))
    monkeypatch.setattr(RealtimeSession, 'token_failed', relay_token_failure)
    press_start(first)
    await until(lambda: len(given) == 1, timeout=10)
    first.find(RealtimeSession).trigger('status', {'status': 'listening'})
    press_start(second)
    await second.should_see('You already have 1 voice session open (the limit)', retries=50)
    first.find(RealtimeSession).trigger('status', {'status': 'idle'})  # the first tab's turn is over
    press_start(second)
    await until(lambda: len(given) == 2, timeout=10)


async def test_a_prefetched_token_holds_a_slot_and_cannot_open_a_session_past_the_limit(users_file, one_session_each,
                                                                                        create_user, monkeypatch):
    """A tab holding a token it has not reported on counts (it could open a session with it at any moment); once it
    reported its turn over, it still holds the token: a Start with it while another tab talks is closed at once."""
    first, second = create_user(), create_user()
    for person in (first, second):
        await person.open('/')
        await sign_in(person, 'ana-secret-1', 'ana')
        await person.should_see('Signed in as ana', retries=30)
    given, closed = [], []
    monkeypatch.setattr(RealtimeSession, 'provide_token', lambda self, value, expires_at: given.append(value))
    monkeypatch.setattr(RealtimeSession, 'token_failed', relay_token_failure)
    monkeypatch.setattr(RealtimeSession, 'close', lambda self: closed.append(self.id))
    second.find(RealtimeSession).trigger('token_wanted', {'reason': 'prefetch'})  # no session open yet: room
    await until(lambda: len(given) == 1, timeout=10)
    press_start(first)  # before: granted, while the second tab could open a session with its token any time
    await first.should_see('You already have 1 voice session open (the limit). A tab ready to start counts too',
                           retries=50)
    second.find(RealtimeSession).trigger('status', {'status': 'idle'})  # it reported: its slot is free again
    press_start(first)
    await until(lambda: len(given) == 2, timeout=10)
    first.find(RealtimeSession).trigger('status', {'status': 'listening'})
    second.find(RealtimeSession).trigger('status', {'status': 'connecting'})  # its Start used the held token
    await second.should_see('You already have 1 voice session open (the limit)', retries=50)
    assert len(closed) == 1
    first.find(RealtimeSession).trigger('status', {'status': 'idle'})
    second.find(RealtimeSession).trigger('status', {'status': 'connecting'})  # room again: this one may open
    await until(lambda: len(closed) == 1, timeout=1)
    assert len(closed) == 1


@pytest.fixture
def behind_proxy(openai_env, monkeypatch):
    monkeypatch.setenv('VOICE_UI_AUTH_HEADER', 'X-Forwarded-User')
    monkeypatch.setenv('VOICE_UI_TRUSTED_PROXIES', '127.0.0.1')  # the simulation's client address
    return openai_env


async def test_behind_a_proxy_the_header_names_the_person(behind_proxy, user: User):
    user.http_client.headers['X-Forwarded-User'] = 'carla'
    await user.open('/')
    await user.should_see('Signed in as carla')
    await user.should_not_see(marker='sign-out')  # signing out is the proxy's business
    del user.http_client.headers['X-Forwarded-User']
    response = await user.http_client.get('/')
    assert response.status_code == 401 and 'authenticating proxy' in response.text


async def test_the_login_page_sends_the_signed_in_on(shared_password, user: User):
    await user.open('/login?next=%2F%3Fpanel%3D1')
    await sign_in(user, PASSWORD)
    await user.should_see('Start Speaking', retries=30)
    assert str(user.client.request.url).endswith('/?panel=1')  # where the person was going
    again = await user.http_client.get('/login?next=//evil.example')
    assert again.status_code == 303 and again.headers['location'] == '/'


async def test_another_site_cannot_sign_anyone_out(shared_password, user: User):
    """GET /logout from a link or redirect on another site (SameSite=Lax cookies ride along) leaves the sign-in."""
    await user.open('/')
    await sign_in(user, PASSWORD)
    await user.should_see('Start Speaking', retries=30)
    for foreign in ({'Sec-Fetch-Site': 'cross-site'}, {'Sec-Fetch-Site': 'same-site'},
                    {'Referer': 'https://evil.example/page'}):
        response = await user.http_client.get('/logout', headers=foreign)
        assert response.status_code == 303 and response.headers['location'] == '/', foreign
        assert user.http_client.cookies.get('voice_ui_session')
        assert (await user.http_client.get('/')).status_code == 200  # still signed in
    response = await user.http_client.get('/logout', headers={'Sec-Fetch-Site': 'same-origin'})  # Sign out's own
    assert response.headers['location'] == '/login'
    assert (await user.http_client.get('/')).status_code == 303
