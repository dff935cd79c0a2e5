"""deploy/compose.yaml without a container engine (none here): what `docker compose config` would resolve — YAML
anchors and merges, `${VAR:-default}` / `${VAR:?message}` interpolation — and that the pieces fit together: the
services nginx.conf names exist on the ports it uses, replicas share Redis and one cookie secret, workers share
one token secret (tokens.py: any worker verifies any other's) and admit a bounded number of sessions each."""
from __future__ import annotations

import re

import pytest
import yaml

from tests.support import REPO

COMPOSE = REPO / 'deploy' / 'compose.yaml'
NGINX = REPO / 'deploy' / 'nginx.conf'
VARIABLE = re.compile(r'\$\{([A-Z0-9_]+)(?:(:-|:\?)((?:[^{}]|\$\{[^}]*\})*))?\}')
ENV = {'VOICE_UI_SECRET': 's' * 40, 'VOICE_UI_TOKEN_SECRET': 't' * 40, 'VOICE_UI_PASSWORD': 'a long password'}


class Missing(Exception):
    pass


def interpolate(value, env: dict[str, str]):
    """Compose's interpolation on every string, innermost first (`${A:-${B:-c}}`)."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), interpolate(match.group(3) or '', env)
        if env.get(name):
            return env[name]
        if operator == ':?':
            raise Missing(f'{name}: {argument}')
        return argument if operator == ':-' else ''
    while VARIABLE.search(value):
        value = VARIABLE.sub(one, value)
    return value


def resolved(env: dict[str, str]) -> dict:
    config = yaml.safe_load(COMPOSE.read_text())  # safe_load applies the `<<:` merges of the x- anchors
    return interpolate({k: v for k, v in config.items() if not k.startswith('x-')}, env)


def test_compose_resolves_with_the_secrets_and_refuses_without_each():
    services = resolved(ENV)['services']
    assert set(services) == {'redis', 'app-1', 'app-2', 'worker-1', 'worker-2', 'balancer'}
    for needed in ENV:
        with pytest.raises(Missing, match=needed):
            resolved({k: v for k, v in ENV.items() if k != needed})


def test_every_dependency_and_network_exists():
    config = resolved(ENV)
    services = config['services']
    for name, service in services.items():
        for dependency in service.get('depends_on', {}):
            assert dependency in services, (name, dependency)
        for network in service.get('networks', []):
            assert network in config['networks'], (name, network)
        if 'build' in service:
            assert (REPO / service['build']['dockerfile']).is_file()


def test_replicas_share_redis_and_the_cookie_secret_and_have_their_own_names():
    services = resolved(ENV)['services']
    replicas = [services['app-1']['environment'], services['app-2']['environment']]
    assert all(env['NICEGUI_REDIS_URL'] == 'redis://redis:6379/0' for env in replicas)
    assert all(env['VOICE_UI_SECRET'] == ENV['VOICE_UI_SECRET'] for env in replicas)
    assert {env['VOICE_UI_REPLICA'] for env in replicas} == {'app-1', 'app-2'}
    assert replicas[0]['OPENAI_BASE_URL'] == 'http://balancer:8080/v1'  # keyless: mint through nginx's /v1/


def test_workers_share_the_token_secret_and_admit_a_bounded_number_each():
    services = resolved(ENV)['services']
    for name in ('worker-1', 'worker-2'):
        worker = services[name]
        assert worker['environment']['VOICE_UI_TOKEN_SECRET'] == ENV['VOICE_UI_TOKEN_SECRET']
        command = worker['command']
        assert command[:3] == ['python', '-m', 'voice_ui.local_realtime']
        assert int(command[command.index('--max-sessions') + 1]) >= 1
        assert command[command.index('--port') + 1] == '8765'
        assert 'healthcheck' in worker


def test_the_workers_command_line_is_one_the_embedded_server_accepts(monkeypatch):
    from voice_ui.local_realtime.__main__ import parse_args
    monkeypatch.setenv('VOICE_UI_TOKEN_SECRET', ENV['VOICE_UI_TOKEN_SECRET'])
    args = parse_args(resolved(ENV)['services']['worker-1']['command'][3:])
    assert args.port == 8765 and args.max_sessions == 50


def test_nginx_names_exactly_the_compose_services_on_their_ports():
    services = resolved(ENV)['services']
    site = NGINX.read_text()
    upstreams = dict(re.findall(r'server ([a-z0-9-]+):(\d+)', site))
    assert upstreams == {'app-1': '8080', 'app-2': '8080', 'worker-1': '8765', 'worker-2': '8765'}
    assert set(upstreams) <= set(services)
    assert services['balancer']['ports'] == ['8080:8080'] and 'listen 8080;' in site
    assert any('nginx.conf' in volume for volume in services['balancer']['volumes'])
