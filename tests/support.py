"""Plumbing every test folder shares (the one home of each): what CI demands, the test speech and its WAV reader,
free ports, waiting on conditions, servers in threads, and apps run as child processes the way a user runs them."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import uvicorn

T = TypeVar('T')

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / 'test-output'
# The test recordings (with their texts in manifest.json) live in the repo, so a fresh clone runs everything.
TESTDATA = REPO / 'tests' / 'testdata'
# Variables by which pytest and NiceGUI's fixtures recognise a test run; a child app must not inherit them.
TEST_RUN_VARIABLES = ('PYTEST_CURRENT_TEST', 'PYTEST_VERSION', 'NICEGUI_USER_SIMULATION', 'NICEGUI_SCREEN_TEST_PORT')


def in_ci() -> bool:
    """The one CI rule: `CI` set to anything but empty/0/false/no (GitHub, GitLab and .ci/run set CI=true)."""
    return os.environ.get('CI', '').strip().lower() not in ('', '0', 'false', 'no')


def unavailable(reason: str) -> None:
    """Something a test needs is missing: skip with the reason, but fail in CI, which installs everything.
    Also at a module's top, before it imports what is missing."""
    if in_ci():
        pytest.fail(f'{reason} (CI installs everything, so this test must run there)')
    pytest.skip(reason, allow_module_level=True)


def read_wav(path: Path, rate: int | None = None) -> bytes:
    """The PCM16 frames of a mono 16-bit WAV (checked: also its sample rate, when given)."""
    with wave.open(str(path)) as wav:
        found = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        assert found[:2] == (1, 2) and rate in (None, found[2]), f'{path}: {found} is not mono PCM16 at {rate} Hz'
        return wav.readframes(wav.getnframes())


def wait_until(condition: Callable[[], T], timeout: float, what: str = 'condition', interval: float = 0.05) -> T:
    """Poll `condition` until it returns something truthy (returned); TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f'{what} not met within {timeout} s')
        time.sleep(interval)
    return value


async def until(condition: Callable[[], T], timeout: float = 3.0, what: str = 'condition') -> T:
    """`wait_until` for coroutines: polls without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f'{what} not met within {timeout} s')
        await asyncio.sleep(0.01)
    return value


def manifest() -> dict[str, dict]:
    """The test utterances by name: text, speech length, file names (tests/testdata/manifest.json)."""
    return {entry['name']: entry for entry in json.loads((TESTDATA / 'manifest.json').read_text())}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing listens and a new server could bind it (with SO_REUSEADDR, as uvicorn does: the closed
    connections' TIME_WAIT entries legitimately linger)."""
    with socket.socket() as probe:
        if probe.connect_ex(('127.0.0.1', port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:
            return False
        return True


def app_env(**overrides: str) -> dict[str, str]:
    """This process's environment for a child that runs as a real app (NiceGUI's ui.run would otherwise take
    pytest's variables for a test run of its own). A value of None removes a variable."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_RUN_VARIABLES}
    env['PYTHONUNBUFFERED'] = '1'
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@contextmanager
def serve_in_thread(app, **options) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a daemon thread; yields `http://127.0.0.1:<port>`. The socket is bound
    before uvicorn starts, so no other process can take the port in between. `options` go to uvicorn.Config."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level='warning', lifespan='off', **options))
    thread = threading.Thread(target=server.run, kwargs={'sockets': [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), 10, 'uvicorn starting', interval=0.02)
    if not server.started:
        raise RuntimeError('uvicorn did not start')
    try:
        yield f'http://127.0.0.1:{sock.getsockname()[1]}'
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


@contextmanager
def http_peer(peer, path: str, endpoint) -> Iterator:
    """A small real HTTP peer for a client under test: serves `endpoint` (POST) at `path`, sets `peer.url` to the
    API base (`http://127.0.0.1:<port>/v1`) and yields the peer."""
    from starlette.applications import Starlette
    from starlette.routing import Route
    with serve_in_thread(Starlette(routes=[Route(path, endpoint, methods=['POST'])])) as url:
        peer.url = url + '/v1'
        yield peer


def run_python(*args: str, cwd: Path = REPO, timeout: float = 120, **env: str | None) -> subprocess.CompletedProcess:
    """`python ARGS` to completion, as a user runs it (see `app_env`); output captured as text."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env=app_env(**env), capture_output=True, text=True,
                          timeout=timeout)


class AppProcess:
    """A `python ...` child run as a user runs it (none of pytest's variables), its output in a log file under
    test-output/ for a failure's post-mortem; `wait_ready()` once `ready_path` answers over HTTP."""

    def __init__(self, name: str, args: list[str], port: int, env: dict[str, str | None] | None = None,
                 ready_path: str = '/', cwd: Path = REPO, new_session: bool = False) -> None:
        self.name, self.port, self.ready_path = name, port, ready_path
        self.url = f'http://127.0.0.1:{port}'
        OUTPUT.mkdir(exist_ok=True)
        self.log_path = OUTPUT / f'{name}.log'
        self._log = self.log_path.open('w')
        self.process = subprocess.Popen([sys.executable, *args], cwd=cwd, env=app_env(**(env or {})),
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=new_session)

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f'{self.name} exited with {self.process.returncode}:\n{self.log_tail()}')
        try:
            return httpx.get(self.url + self.ready_path, timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 60) -> AppProcess:
        try:
            wait_until(self.ready, timeout, f'{self.name} answering on {self.url}{self.ready_path}', interval=0.2)
        except TimeoutError as exc:
            raise TimeoutError(f'{exc}:\n{self.log_tail()}') from None
        return self

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
