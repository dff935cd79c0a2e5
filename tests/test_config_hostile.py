"""Every variable voice-ui reads, with junk in it: the start either stops with a message naming the variable, or the
app gets far enough to serve (access policy, the token mint's body, the page's session, the health answer) with
values every encoder on the way accepts. Never a traceback deep in the app at the first request."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st
from nicegui import json as nicegui_json

from voice_ui.access import create_access
from voice_ui.app import create_backend
from voice_ui.config import ENV_FIELDS, settings_from_env
from voice_ui.settings import VoiceSettings
from voice_ui.session_config import session_update
from voice_ui.token_service import TokenService

KEY = 'sk-hostile-config-key'
SECRET_FIELDS = {'OPENAI_API_KEY', 'VOICE_UI_PASSWORD', 'VOICE_UI_SECRET', 'VOICE_UI_METRICS_TOKEN',
                 'NICEGUI_REDIS_URL'}
JUNK = ['', ' ', '\t\n', '-1', '0', '1e3', 'NaN', 'inf', '１２', '9' * 5000, 'x' * 100_000, 'a\x00b', 'a\udcffb',
        'é', '\u202e', 'http://voice.example.com', 'voice.example.com:99999', 'a b', '<script>', '%00', '../../etc']
VALUE = st.one_of(st.sampled_from(JUNK), st.text(max_size=60),
                  st.text(alphabet=st.characters(codec='utf-8', categories=['Cc', 'Zs', 'Nd', 'So']), max_size=20))


def start_pieces(environ: dict[str, str]):
    """What `run()` builds before it serves, and what the first page and mint then encode."""
    config = settings_from_env(environ, dotenv=None)
    access = create_access(config)
    mine = VoiceSettings.from_config(config)
    page = {'mint': TokenService(config).request_body(), 'session': session_update(mine.apply_to(config)),
            'renewal': config.renewal}
    if not config.uses_embedded_server:  # the OpenAI backend (the embedded one would mount a server here)
        backend = create_backend(config)
        page.update(url=backend.browser_ws_url, label=backend.label)
    nicegui_json.dumps(page)
    json.dumps({'replica': config.replica}, ensure_ascii=False).encode('utf-8')  # /healthz
    return config, access


def outcome(name: str, value: str) -> str:
    environ = {'OPENAI_API_KEY': KEY, name: value} if name != 'OPENAI_API_KEY' else {name: value}
    try:
        start_pieces(environ)
    except SystemExit as stop:
        message = str(stop)
        assert name in message, f'{name}={value[:30]!r} stopped the start without naming it: {message[:200]}'
        if name in SECRET_FIELDS and len(value.strip()) >= 4:
            assert value.strip() not in message, f'{name} printed its secret value'
        assert len(message) < 2_000
        return 'refused'
    return 'served'


@pytest.mark.parametrize('name', sorted(ENV_FIELDS))
@settings(max_examples=40, deadline=None)
@given(value=VALUE)
def test_any_value_of_any_variable_stops_with_its_name_or_serves(name, value):
    outcome(name, value)


@pytest.mark.parametrize(('name', 'value'), [
    ('OPENAI_BASE_URL', 'api.openai.com/v1'),        # no scheme: the WebSocket URL could not be derived
    ('OPENAI_BASE_URL', 'ftp://example.com/v1'),
    ('VOICE_UI_USERS_FILE', 'users\x00.txt'),         # a .env file can hold a NUL: os.stat raised ValueError
    ('VOICE_UI_INSTRUCTIONS', 'be nice \udcff'),     # undecodable bytes: no JSON encoder takes them
    ('VOICE_UI_REPLICA', 'replica-\udcff'),
    ('VOICE_UI_SECRET', 'short \udcff secret, but long enough to pass 32'),
    ('VOICE_UI_ALLOWED_HOSTS', 'https://voice.example.com'),
    ('VOICE_UI_ALLOWED_HOSTS', 'voice.example.com:99999'),
    ('VOICE_UI_VOICE', 'robot'),                      # the page fell back to cedar, the mint sent 'robot'
    ('VOICE_UI_LANGUAGE', 'english'),                 # the same split between page and mint
    ('VOICE_UI_INSTRUCTIONS', 'x' * 16_001),
    ('VOICE_UI_SECRET', 'too-short'),                 # the README asks for 32 characters
    ('VOICE_UI_METRICS_TOKEN', 'metrics'),            # a guessable bearer token opened /metrics beyond loopback
    ('VOICE_UI_METRICS_TOKEN', 'm' * 31),
    ('VOICE_UI_MODEL', 'gpt realtime&x=1'),
    ('OPENAI_BASE_URL', 'http://[::1/v1'), ('OPENAI_BASE_URL', 'http://host:port/v1'),
])
def test_values_that_failed_late_now_stop_the_start(name, value):
    assert outcome(name, value) == 'refused'


@pytest.mark.parametrize(('name', 'value'), [
    ('OPENAI_BASE_URL', 'http://127.0.0.1:8765/v1'), ('VOICE_UI_VOICE', 'marin'), ('VOICE_UI_LANGUAGE', 'de'),
    ('VOICE_UI_ALLOWED_HOSTS', 'voice.example.com, .example.org, [::1]:8080'), ('VOICE_UI_SECRET', 's' * 32),
    ('VOICE_UI_METRICS_TOKEN', 'm' * 32), ('VOICE_UI_METRICS_TOKEN', ''),  # empty: unset (deploy/compose.yaml)
    ('VOICE_UI_MODEL', 'gpt-realtime-2025-08-28'), ('VOICE_UI_INSTRUCTIONS', 'Sprich Deutsch. ' * 100),
])
def test_good_values_still_serve(name, value):
    assert outcome(name, value) == 'served'


def test_a_huge_number_is_quoted_short():
    with pytest.raises(SystemExit) as stop:
        settings_from_env({'VOICE_UI_TOKEN_TTL': '9' * 5000}, dotenv=None)
    assert 'VOICE_UI_TOKEN_TTL' in str(stop.value) and len(str(stop.value)) < 200


@settings(max_examples=60, deadline=None)
@given(token=st.text(alphabet=st.characters(codec='utf-8', exclude_characters='\x00'), max_size=64))
def test_a_metrics_token_under_32_characters_is_refused_by_name_without_echoing_it(token):
    verdict = outcome('VOICE_UI_METRICS_TOKEN', token)
    assert verdict == ('refused' if 0 < len(token.strip()) < 32 else 'served'), (verdict, len(token.strip()))
