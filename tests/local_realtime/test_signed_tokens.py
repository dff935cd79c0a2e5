"""Signed, stateless client secrets: any process with the shared secret accepts a token another one minted.

Two real server processes (and `--workers 2`) prove the cross-process path; the token store is tested directly
for tampering, expiry, foreign secrets, the size bound and bad secrets from the environment.
"""
from __future__ import annotations

import base64
import subprocess
import sys
import time

import httpx
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import REPO as ROOT
from tests.support import app_env, free_port
from voice_ui.local_realtime.tokens import (MAX_SIGNED_TOKEN_CHARS, TOKEN_PREFIX, TOKEN_SECRET_ENV, TokenStore,
                                            token_secret)
from voice_ui.protocol import ServerEvent

from .serving import RealtimeClient, connect, mint

KEY = 'sk-signed-token-test'
SECRET = 'a-shared-secret-of-at-least-32-characters'
SESSION = {'type': 'realtime', 'instructions': 'Answer like a pirate.'}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def store(secret: str | None = SECRET, clock: Clock | None = None) -> TokenStore:
    return TokenStore(frozenset({KEY}), clock=clock or Clock(), secret=secret)


def minted(tokens: TokenStore, session: dict = SESSION, **body) -> dict:
    status, payload = tokens.mint(f'Bearer {KEY}', {'session': session, **body})
    assert status == 200, payload
    return payload


def test_a_token_minted_by_one_store_opens_a_session_on_another_with_the_same_secret():
    clock = Clock()
    payload = minted(store(clock=clock))
    assert payload['value'].startswith(TOKEN_PREFIX) and len(payload['value']) <= MAX_SIGNED_TOKEN_CHARS
    grant = store(clock=clock).grant_for(payload['value'])
    assert grant is not None
    assert grant.session['instructions'] == 'Answer like a pirate.'
    assert grant.expires_at == pytest.approx(payload['expires_at'], abs=1)
    assert grant.take_session_id() == payload['session']['id']  # the id the mint promised


def test_expired_tokens_are_refused_everywhere():
    clock = Clock()
    minter, other = store(clock=clock), store(clock=clock)
    token = minted(minter, expires_after={'anchor': 'created_at', 'seconds': 10})['value']
    clock.now += 9
    assert other.grant_for(token) is not None
    clock.now += 2
    assert minter.grant_for(token) is None
    assert other.grant_for(token) is None
    assert store(clock=clock).grant_for(token) is None  # a process that never saw it


def test_a_token_signed_with_another_secret_is_refused():
    token = minted(store(secret='another-secret-that-is-long-enough-too'))['value']
    assert store().grant_for(token) is None
    assert store(secret=None).grant_for(token) is None  # a random per-process secret


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=len(TOKEN_PREFIX)), replacement=st.characters(codec='ascii'))
def test_any_altered_character_makes_the_token_worthless(position, replacement):
    token = minted(store())['value']
    position %= len(token)
    altered = token[:position] + replacement + token[position + 1:]
    if altered != token:
        assert store().grant_for(altered) is None


def test_forged_payloads_and_junk_are_refused():
    tokens = store()
    token = minted(tokens)['value']
    body, _, signature = token[len(TOKEN_PREFIX):].rpartition('.')
    forged = base64.urlsafe_b64encode(b'{"e":9999999999,"i":"sess_x","r":{"type":"realtime"}}').decode()
    for junk in [f'{TOKEN_PREFIX}{forged.rstrip("=")}.{signature}', TOKEN_PREFIX, f'{TOKEN_PREFIX}.', 'ek_x.y',
                 TOKEN_PREFIX + 'A' * (MAX_SIGNED_TOKEN_CHARS * 4), token + '.', token[:-1], body, '']:
        assert store().grant_for(junk) is None, junk


def test_a_configuration_too_large_to_sign_gets_a_token_only_its_process_knows():
    import secrets
    huge = {'type': 'realtime', 'instructions': secrets.token_urlsafe(6000)}  # incompressible
    minter = store()
    token = minted(minter, session=huge)['value']
    assert token.startswith(TOKEN_PREFIX) and len(token) <= MAX_SIGNED_TOKEN_CHARS
    assert minter.grant_for(token).session['instructions'] == huge['instructions']
    assert store().grant_for(token) is None


def test_the_secret_from_the_environment_is_checked():
    assert token_secret({}) is None and token_secret({TOKEN_SECRET_ENV: ''}) is None
    assert token_secret({TOKEN_SECRET_ENV: SECRET}) == SECRET
    with pytest.raises(ValueError, match=TOKEN_SECRET_ENV):
        token_secret({TOKEN_SECRET_ENV: 'short'})


def test_a_short_secret_stops_the_standalone_server_with_a_clear_message():
    result = subprocess.run([sys.executable, '-m', 'voice_ui.local_realtime', '--api-key', KEY], cwd=ROOT,
                            env=app_env(**{TOKEN_SECRET_ENV: 'short'}), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and TOKEN_SECRET_ENV in result.stderr


# ---- real processes -----------------------------------------------------------------------------------------

def start(port: int, *extra: str, secret: str | None = SECRET) -> subprocess.Popen:
    env = app_env(VOICE_UI_ALLOW_FAULTS=None, **{TOKEN_SECRET_ENV: secret})
    process = subprocess.Popen([sys.executable, '-m', 'voice_ui.local_realtime', '--port', str(port), '--api-key',
                                KEY, '--pacing', 'burst', '--agent', 'echo', *extra], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            httpx.post(f'http://127.0.0.1:{port}/v1/realtime/client_secrets', timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    pytest.fail(f'server did not start: {process.stdout.read()}')


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


async def session_created(base_url: str, token: str) -> dict:
    client = RealtimeClient(await connect(base_url, token))
    try:
        return await client.recv()
    finally:
        await client.connection.close()


async def test_a_token_minted_by_one_process_opens_a_session_on_another():
    ports = free_port(), free_port()
    processes = [start(ports[0]), start(ports[1])]
    stranger_port = free_port()
    processes.append(start(stranger_port, secret=None))  # its own random secret
    try:
        minter, other = (f'http://127.0.0.1:{port}/v1' for port in ports)
        payload = mint(minter, SESSION, key=KEY).json()
        created = await session_created(other, payload['value'])
        assert created['type'] == ServerEvent.SESSION_CREATED
        assert created['session']['id'] == payload['session']['id']
        assert created['session']['instructions'] == 'Answer like a pirate.'
        refused = await session_created(f'http://127.0.0.1:{stranger_port}/v1', payload['value'])
        assert refused['type'] == ServerEvent.ERROR and refused['error']['code'] == 'invalid_api_key'
        tampered = payload['value'][:-3] + ('AAA' if payload['value'][-3:] != 'AAA' else 'BBB')
        refused = await session_created(other, tampered)
        assert refused['type'] == ServerEvent.ERROR and refused['error']['code'] == 'invalid_api_key'
    finally:
        for process in processes:
            stop(process)


async def test_workers_share_one_port_and_accept_each_others_tokens():
    """`--workers 2` without a configured secret: the workers still agree (the parent hands them one). The
    kernel spreads connections over the workers, so 12 mint-then-connect pairs cross workers many times."""
    port = free_port()
    process = start(port, '--workers', '2', secret=None)
    try:
        children = psutil.Process(process.pid).children()  # the workers, and multiprocessing's resource tracker
        assert sum('spawn_main' in ' '.join(child.cmdline()) for child in children) == 2
        base_url = f'http://127.0.0.1:{port}/v1'
        for _ in range(12):
            token = mint(base_url, SESSION, key=KEY).json()['value']
            assert (await session_created(base_url, token))['type'] == ServerEvent.SESSION_CREATED
    finally:
        stop(process)
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive  # stopping the server stops its workers
