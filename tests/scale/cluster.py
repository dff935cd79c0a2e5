"""A real small deployment on loopback: redis-server, two `python main.py` replicas and Debian's nginx with the
repo's own deploy/nginx.conf (only its upstream addresses and listen port swapped for loopback ones), all in a
temp dir. Outside CI a machine without nginx or redis-server skips; under CI=true that is a failure."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ServerProcess
from tests.support import REPO, free_port

NGINX_CONF = REPO / 'deploy' / 'nginx.conf'
INSTALL_HINT = 'apt-get install nginx redis-server'


def in_ci() -> bool:
    return os.environ.get('CI', '').strip().lower() not in ('', '0', 'false', 'no')


def need(program: str) -> str:
    found = shutil.which(program) or (f'/usr/sbin/{program}' if Path(f'/usr/sbin/{program}').exists() else None)
    if found:
        return found
    if in_ci():
        pytest.fail(f'CI requires {program} for the replica tests: {INSTALL_HINT}')
    pytest.skip(f'{program} not installed: {INSTALL_HINT}')


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f'redis://127.0.0.1:{self.port}/0'
        self.process = subprocess.Popen(
            [need('redis-server'), '--port', str(self.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
             '--dir', str(workdir), '--protected-mode', 'yes'],
            stdout=(workdir / 'redis.log').open('w'), stderr=subprocess.STDOUT)
        import redis
        self.client = redis.Redis(port=self.port)
        wait_until(lambda: self.client.ping(), 'redis-server')

    def stop(self) -> None:
        stop(self.process)


class Nginx:
    """deploy/nginx.conf included in a minimal main config, exactly as Debian's /etc/nginx/nginx.conf does."""

    def __init__(self, workdir: Path, apps: list[int], workers: list[int]) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        site = NGINX_CONF.read_text()
        for index, port in enumerate(apps, 1):
            site = site.replace(f'server app-{index}:8080', f'server 127.0.0.1:{port}')
        for index, port in enumerate(workers, 1):
            site = site.replace(f'server worker-{index}:8765', f'server 127.0.0.1:{port}')
        site = site.replace('listen 8080;', f'listen 127.0.0.1:{self.port};')
        site = re.sub(r'\n\s*server app-\d+:8080[^;]*;', '', site)  # fewer replicas than the config names
        assert 'server app-' not in site and 'server worker-' not in site, 'deploy/nginx.conf names other hosts'
        (workdir / 'site.conf').write_text(site)
        (workdir / 'nginx.conf').write_text(
            'worker_processes 1;\nevents { worker_connections 1024; }\nhttp {\n'
            '  access_log off;\n  client_body_temp_path body;\n  proxy_temp_path proxy;\n'
            '  fastcgi_temp_path fastcgi;\n  uwsgi_temp_path uwsgi;\n  scgi_temp_path scgi;\n'
            '  include site.conf;\n}\n')
        self.command = [need('nginx'), '-p', str(workdir), '-c', str(workdir / 'nginx.conf'),
                        '-e', str(workdir / 'nginx-error.log'),
                        '-g', f'daemon off; pid {workdir / "nginx.pid"}; error_log {workdir / "nginx-error.log"};']
        checked = subprocess.run([*self.command[:-2], '-t', '-g', self.command[-1]], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(lambda: httpx.get(self.url + '/metrics', timeout=2).status_code == 404, 'nginx')

    def stop(self) -> None:
        stop(self.process)


@dataclass
class Cluster:
    redis: Redis
    apps: dict[str, ServerProcess]
    nginx: Nginx
    routes: dict[str, str] = field(default_factory=dict)  # replica name -> a route cookie nginx sends to it

    @property
    def url(self) -> str:
        return self.nginx.url

    def find_routes(self) -> None:
        """Route cookies that land on each replica (nginx hashes them; /healthz names who answered)."""
        for index in range(200):
            replica = httpx.get(self.url + '/healthz', cookies={'voice_ui_route': f'r{index}'}).json()['replica']
            self.routes.setdefault(replica, f'r{index}')
            if len(self.routes) == len(self.apps):
                return
        raise AssertionError(f'nginx sent 200 route cookies to {sorted(self.routes)} only')

    def replica_for(self, route: str) -> str:
        return httpx.get(self.url + '/healthz', cookies={'voice_ui_route': route}, timeout=5).json()['replica']

    def stop(self) -> None:
        self.nginx.stop()
        for app in self.apps.values():
            app.stop()
        self.redis.stop()


def start_cluster(workdir: Path, env: dict[str, str], names: tuple[str, ...] = ('a', 'b')) -> Cluster:
    redis = Redis(workdir)
    apps: dict[str, ServerProcess] = {}
    try:
        for name in names:
            port = free_port()
            apps[name] = ServerProcess(f'replica-{name}', ['main.py', '--port', str(port), '--no-browser'], port,
                                       env={**env, 'NICEGUI_REDIS_URL': redis.url, 'VOICE_UI_REPLICA': name},
                                       ready_path='/readyz')
        for app in apps.values():
            app.wait_ready(180)  # a shared 2-core machine under load starts a replica slowly
        cluster = Cluster(redis, apps, Nginx(workdir, [a.port for a in apps.values()], [free_port(), free_port()]))
    except BaseException:
        for app in apps.values():
            app.stop()
        redis.stop()
        raise
    cluster.find_routes()
    return cluster


def wait_until(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # not up yet: connection refused, a 502 while starting, ...
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f'{what} did not come up')
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
