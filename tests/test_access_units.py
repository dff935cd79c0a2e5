"""The access pieces on their own: users file and its CLI, host and origin rules, proxies, sign-in cookies,
limits, and the start-up policy (refuse, warn, or serve)."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from voice_ui import users as users_cli
from voice_ui.access import create_access, serving_warnings
from voice_ui.access.hosts import HostPolicy, Proxies, interface_addresses, split_host
from voice_ui.access.limits import SessionCounter, SlidingWindow
from voice_ui.access.login import safe_next
from voice_ui.access.sessions import SessionStore
from voice_ui.access.users_file import PasswordBook, UsersFileError, hash_password, load_users, parse_users
from voice_ui.config import Settings, settings_from_env

GOOD = hash_password('s3cret-password').encode()


# --- users file ---

def test_a_hash_checks_its_password_and_hides_itself():
    stored = parse_users(f'ana:{GOOD}\n')['ana']
    assert stored.matches('s3cret-password') and not stored.matches('s3cret-passwore')
    assert GOOD.split('$')[-1] not in repr(stored)
    book = PasswordBook(users={'ana': stored})
    assert book.check('ana', 's3cret-password') == 'ana'
    assert book.check('ana', 'wrong') is None and book.check('bob', 's3cret-password') is None


@pytest.mark.parametrize(('text', 'line', 'words'), [
    (f'# team\n\nana:{GOOD}\nana:{GOOD}\n', 4, 'appears twice'),
    (f'ana:{GOOD}\nben\n', 2, 'expected name:scrypt-hash'),
    ('ana:bcrypt$2b$12$abc\n', 1, 'not of the form scrypt'),
    ('ana:scrypt$16385$8$1$c2FsdHNhbHQ=$' + 'A' * 44 + '\n', 1, 'out of range'),
    ('ana:scrypt$1048576$32$16$c2FsdHNhbHQ=$' + 'A' * 44 + '\n', 1, 'out of range'),
    ('ana:scrypt$16384$8$1$!!!$' + 'A' * 44 + '\n', 1, 'invalid base64'),
    (f'-ana:{GOOD}\n', 1, 'the name must be'),
])
def test_a_malformed_users_file_names_the_line_not_the_hash(text, line, words):
    with pytest.raises(UsersFileError) as caught:
        parse_users(text, 'users.txt')
    assert f'users.txt line {line}: ' in str(caught.value) and words in str(caught.value)
    assert GOOD.split('$')[-1] not in str(caught.value)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_users_file_text_parses_or_names_a_line(text):
    try:
        users = parse_users(text, 'users.txt')
    except UsersFileError as error:
        assert str(error).startswith('users.txt line ')
    else:
        assert all(isinstance(name, str) for name in users)


def test_the_cli_adds_updates_lists_and_removes(tmp_path, monkeypatch, capsys):
    path = tmp_path / 'users.txt'
    for name in ('ana', 'ben', 'ana'):
        monkeypatch.setattr('sys.stdin', io.StringIO('a long enough password\n'))
        assert users_cli.main(['add', name, '--file', str(path), '--password-stdin']) == 0
    assert (path.stat().st_mode & 0o777) == 0o600
    users = load_users(path)
    assert sorted(users) == ['ana', 'ben'] and users['ana'].matches('a long enough password')
    assert users_cli.main(['remove', 'ben', '--file', str(path)]) == 0
    assert users_cli.main(['list', '--file', str(path)]) == 0
    output = capsys.readouterr().out
    assert output.endswith('ana\n') and 'a long enough password' not in output
    monkeypatch.setattr('sys.stdin', io.StringIO('short\n'))
    assert users_cli.main(['add', 'cy', '--file', str(path), '--password-stdin']) == 1
    assert users_cli.main(['add', 'bad:name', '--file', str(path), '--password-stdin']) == 1


def test_the_cli_as_a_script_pipes_the_password(tmp_path):
    import subprocess
    import sys
    path = tmp_path / 'team.txt'
    done = subprocess.run([sys.executable, '-m', 'voice_ui.users', 'add', 'dora', '--file', str(path)],
                          input='piped password 1\n', capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert load_users(path)['dora'].matches('piped password 1')
    assert 'piped password 1' not in done.stdout + done.stderr
    bad = subprocess.run([sys.executable, '-m', 'voice_ui.users', 'list', '--file', str(tmp_path / 'x')],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 0 and bad.stdout == ''  # no file yet: nobody


# --- hosts, origins, proxies ---

def test_loopback_names_and_configured_ones_are_answered():
    policy = HostPolicy('voice.example.com, .team.example', bind_host='0.0.0.0')
    for host in ('localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST', 'voice.example.com',
                 'a.team.example', 'app.localhost:9'):
        assert policy.allows(host), host
    for host in ('evil.example', 'voice.example.com.evil.example', 'team.example.evil', '127.0.0.1.nip.io',
                 '', None, 'localhost:99999', 'local host', 'a@localhost', '[::1'):
        assert not policy.allows(host), host
    assert HostPolicy('', bind_host='192.168.1.5').allows('192.168.1.5:8080')
    everywhere = HostPolicy('', bind_host='0.0.0.0')  # this machine's addresses, as NiceGUI prints them
    assert all(everywhere.allows(f'[{ip}]:8080' if ':' in ip else f'{ip}:8080') for ip in interface_addresses())
    assert not everywhere.allows('203.0.113.9:8080') and not everywhere.allows('evil.example:8080')


def test_an_origin_must_name_the_host_it_talks_to():
    policy = HostPolicy('voice.example.com')
    assert policy.same_origin(None, 'localhost:8080')  # not sent on the behalf of some page
    assert policy.same_origin('http://localhost:8080', 'localhost:8080')
    assert policy.same_origin('https://voice.example.com', 'voice.example.com')
    assert policy.same_origin('https://voice.example.com', 'voice.example.com:443')
    for origin in ('http://evil.example', 'http://localhost:9999', 'null', 'file://', 'http://localhost:8080@x'):
        assert not policy.same_origin(origin, 'localhost:8080'), origin
    assert not policy.same_origin('http://evil.example', 'evil.example')  # a rebound name is no better


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_host_and_origin_checks_never_crash(host, origin):
    policy = HostPolicy('voice.example.com')
    assert policy.allows(host) in (True, False)
    assert policy.same_origin(origin, host) in (True, False)
    try:
        split_host(host)
    except ValueError:
        pass


def test_forwarded_for_is_believed_only_from_trusted_proxies():
    proxies = Proxies('10.0.0.0/8, 127.0.0.1')
    assert proxies.client_address('203.0.113.7', '1.2.3.4') == '203.0.113.7'  # not a proxy: header ignored
    assert proxies.client_address('127.0.0.1', '198.51.100.2, 10.1.1.1') == '198.51.100.2'
    assert proxies.client_address('127.0.0.1', 'forged, 198.51.100.2') == '198.51.100.2'
    with pytest.raises(SystemExit, match='VOICE_UI_TRUSTED_PROXIES'):
        Proxies('not-an-address')


# --- sign-ins ---

def test_cookies_are_signed_expire_and_die_with_logout():
    now = [1000.0]
    store = SessionStore(3600, clock=lambda: now[0])
    sign_in = store.create('ana', 'users')
    cookie = store.cookie_for(sign_in)
    assert store.from_cookie(cookie) is sign_in
    assert store.from_cookie(cookie[:-2] + ('AA' if not cookie.endswith('AA') else 'BB')) is None
    assert store.from_cookie(SessionStore(3600).cookie_for(sign_in)) is None  # another server's key
    assert store.from_cookie('') is None and store.from_cookie('x' * 5000) is None
    ticket = store.ticket_for(sign_in, '10.0.0.7')
    assert store.redeem(ticket, '10.0.0.8') is None  # another address cannot redeem it (nor later the owner)
    ticket = store.ticket_for(sign_in, '10.0.0.7')
    assert store.redeem(ticket, '10.0.0.7') is sign_in and store.redeem(ticket, '10.0.0.7') is None  # once only
    stale = store.ticket_for(sign_in, '10.0.0.7')
    now[0] += 31
    assert store.redeem(stale, '10.0.0.7') is None
    now[0] -= 31
    store.end(sign_in.id)
    assert store.from_cookie(cookie) is None
    later = store.create('ben', 'users')
    now[0] += 3601
    assert store.get(later.id) is None
    assert sign_in.id not in repr(sign_in)


def test_the_login_page_redirects_only_to_this_server():
    assert safe_next('/?x=1') == '/?x=1'
    for target in ('//evil.example', 'https://evil.example', '/\\evil.example', '/login', '', 'x', '/\nSet-Cookie'):
        assert safe_next(target) == '/', target


# --- limits ---

def test_sliding_window_says_when_to_retry():
    now = [0.0]
    window = SlidingWindow(2, 60, clock=lambda: now[0])
    for _ in range(2):
        assert window.retry_after('user:ana') == 0
        window.record('user:ana')
        now[0] += 10
    assert window.retry_after('user:ana') == pytest.approx(40)
    assert window.retry_after('user:ben') == 0
    now[0] = 60.5
    assert window.retry_after('user:ana') == 0


def test_session_counter_counts_open_statuses_and_expires_reservations():
    now = [0.0]
    counter = SessionCounter(1, clock=lambda: now[0])
    counter.reserve('ip:a', 'page1')
    assert not counter.may_open('ip:a', 'page2') and counter.may_open('ip:a', 'page1')
    now[0] = 31  # reserved but never reported open: it stops counting
    assert counter.may_open('ip:a', 'page2')
    counter.status('ip:a', 'page1', 'speaking')
    now[0] = 1000
    assert not counter.may_open('ip:a', 'page2')
    counter.status('ip:a', 'page1', 'error')
    assert counter.may_open('ip:a', 'page2')


# --- start-up policy ---

def key_beyond_loopback(**overrides) -> Settings:
    return Settings(api_key='sk-policy-key', host='0.0.0.0', **overrides)


def test_serving_a_key_beyond_loopback_needs_authentication():
    with pytest.raises(SystemExit) as caught:
        create_access(key_beyond_loopback())
    message = str(caught.value)
    for words in ('VOICE_UI_PASSWORD', 'VOICE_UI_USERS_FILE', 'VOICE_UI_AUTH_HEADER', '--public', '127.0.0.1'):
        assert words in message
    assert 'sk-policy-key' not in message
    assert create_access(key_beyond_loopback(password='a long password')).enabled
    assert not create_access(Settings(api_key='sk-x')).enabled  # loopback: exactly as easy as before
    assert not create_access(Settings(host='0.0.0.0')).enabled  # embedded server: no key to spend


def test_public_serves_with_a_loud_warning():
    settings = key_beyond_loopback(public=True)
    warnings = serving_warnings(settings, create_access(settings))
    assert any('WITHOUT authentication' in w and 'VOICE_UI_PASSWORD' in w for w in warnings)
    assert any('VOICE_UI_ALLOWED_HOSTS' in w for w in warnings)  # and says the LAN name must be allowed


@pytest.mark.parametrize(('overrides', 'words'), [
    ({'password': 'short'}, 'at least 8'),
    ({'password': 'a long password', 'users_file': 'users.txt'}, 'not both'),
    ({'auth_header': 'X-Forwarded-User'}, 'VOICE_UI_TRUSTED_PROXIES'),
    ({'auth_header': 'X Bad', 'trusted_proxies': '127.0.0.1'}, 'not a header name'),
])
def test_inconsistent_access_settings_refuse_to_start(overrides, words):
    with pytest.raises(SystemExit, match=words):
        create_access(Settings(**overrides))


def test_a_malformed_users_file_refuses_to_start(tmp_path):
    path = tmp_path / 'users.txt'
    path.write_text(f'ana:{GOOD}\nben:{GOOD[:-6]}\n')
    settings = settings_from_env({'VOICE_UI_USERS_FILE': str(path), 'OPENAI_API_KEY': 'sk-x'}, None)
    with pytest.raises(SystemExit, match='users.txt line 2'):
        create_access(settings)
    with pytest.raises(SystemExit, match='VOICE_UI_MAX_SESSIONS must be between'):
        settings_from_env({'VOICE_UI_MAX_SESSIONS': '0'}, None)
