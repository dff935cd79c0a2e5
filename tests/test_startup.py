"""What a newcomer sees when starting the app: one line saying backend, agent and URL, and a clear, non-zero exit
(before anything claims to be ready) when it cannot serve. Run as a user runs it: `python main.py`."""
from __future__ import annotations

import socket
import subprocess

import httpx

from tests.support import OUTPUT, REPO, AppProcess, free_port, run_python
from voice_ui.app import startup_line
from voice_ui.config import Settings
from voice_ui.page import Backend

READY = 'ready to go'


def run_main(*args: str, **env: str | None) -> subprocess.CompletedProcess:
    OUTPUT.mkdir(exist_ok=True)  # cwd: a .env in the clone must not change what the test sees
    return run_python(str(REPO / 'main.py'), '--no-browser', *args, cwd=OUTPUT, **env)


def test_a_busy_port_is_said_before_ready_and_fails():
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_main('--port', str(port), OPENAI_API_KEY=None)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert f'port {port} on 127.0.0.1 is already in use' in output and '--port' in output
    assert READY not in output and 'Traceback' not in output


def test_the_start_up_line_names_openai_model_voice_and_url():
    settings = Settings(api_key='sk-x', port=9123)
    line = startup_line(Backend(settings, None, 'OpenAI · gpt-realtime', settings.ws_url))
    assert line == ('voice-ui: OpenAI · gpt-realtime at https://api.openai.com/v1 · voice cedar · '
                    'open http://127.0.0.1:9123')
    assert 'sk-x' not in line


def start_app(name: str, *args: str, **env: str | None) -> AppProcess:
    port = free_port()
    return AppProcess(name, [str(REPO / 'main.py'), '--port', str(port), '--no-browser', *args], port, env,
                      cwd=OUTPUT).wait_ready(120)


def test_local_with_a_key_says_local_and_names_the_agent():
    app = start_app('startup-local', '--local', OPENAI_API_KEY='sk-not-used', OPENAI_BASE_URL=None)
    try:
        page = httpx.get(app.url).text
        lines = app.log_tail(200).splitlines()
    finally:
        app.stop()
    line = next(line for line in lines if line.startswith('voice-ui:'))
    assert line.startswith('voice-ui: Embedded server (--local) · ') and line.endswith(f'open {app.url}'), line
    detail = lines[lines.index(line) + 1]  # which turn detection the embedded server's sessions get
    assert detail.startswith('  embedded server: turn detection: ') and 'semantic_vad: ' in detail, detail
    assert '(no OpenAI key)' not in line and '(no OpenAI key)' not in page
    assert 'Embedded server (--local)' in page
    assert 'sk-not-used' not in line


def test_a_speech_model_that_cannot_load_is_said_on_start_and_on_the_page():
    from voice_ui.speech import speech_available
    if not speech_available():
        from tests.support import unavailable
        unavailable('the speech extra is not installed')
    app = start_app('startup-bad-model', OPENAI_API_KEY=None, VOICE_UI_WHISPER_MODEL='base.en', HF_HUB_OFFLINE='1')
    try:
        page = httpx.get(app.url).text
        log = app.log_tail(200)
    finally:
        app.stop()
    line = next(line for line in log.splitlines() if line.startswith('voice-ui:'))
    assert 'offline speech unavailable' in line and "whisper 'base.en'" in line, line
    assert 'To fix it, unset VOICE_UI_WHISPER_MODEL' in log
    assert 'offline speech unavailable' in page and 'offline speech: whisper' not in page
    assert log.index('voice-ui:') < log.index(READY)


def test_a_bad_turn_detection_setting_is_said_and_stops_the_start():
    for name in ('VOICE_UI_VAD', 'VOICE_UI_TURN_MODEL'):
        done = run_main('--port', str(free_port()), OPENAI_API_KEY=None, **{name: 'bogus' + 'x' * 500})
        output = done.stdout + done.stderr
        assert done.returncode != 0 and f'voice-ui cannot start: {name} must be one of' in output, output
        assert 'Traceback' not in output and READY not in output and 'x' * 100 not in output
