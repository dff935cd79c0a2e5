"""Plumbing every test folder shares: where the test speech lives, free ports, servers in threads and
environments for child processes that must run as real apps, not as tests."""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / 'test-output'
# The test recordings (with their texts in manifest.json) live in the repo, so a fresh clone runs everything.
TESTDATA = REPO / 'tests' / 'testdata'
# Variables by which pytest and NiceGUI's fixtures recognise a test run; a child app must not inherit them.
TEST_RUN_VARIABLES = ('PYTEST_CURRENT_TEST', 'PYTEST_VERSION', 'NICEGUI_USER_SIMULATION', 'NICEGUI_SCREEN_TEST_PORT')


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
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError('uvicorn did not start')
        time.sleep(0.02)
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
