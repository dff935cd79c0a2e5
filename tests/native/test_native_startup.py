"""`--native` where a window cannot simply open: no display, running as root (containers, CI), a window that
crashes. Each is said plainly and ends the command with a non-zero exit instead of a silent rc 0."""
from __future__ import annotations

import logging

import pytest

from tests.native.harness import Xvfb, require_native
from tests.support import OUTPUT, REPO, free_port, run_python
from voice_ui import native

READY = 'ready to go'


def run_native(**env: str | None) -> tuple[int, str]:
    OUTPUT.mkdir(exist_ok=True)
    done = run_python(str(REPO / 'main.py'), '--native', '--no-browser', '--port', str(free_port()), cwd=OUTPUT,
                      OPENAI_API_KEY=None, PYWEBVIEW_GUI=None, **env)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope='module')
def display():
    require_native()
    xvfb = Xvfb()
    yield xvfb.display
    xvfb.stop()


def test_without_a_display_it_says_what_to_do_and_fails(display):
    code, output = run_native(DISPLAY=None, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None)
    assert code == 1, output
    assert '--native needs a graphical display' in output and 'xvfb-run' in output
    assert READY not in output and 'Traceback' not in output


def test_a_window_that_cannot_start_fails_the_command(display):
    code, output = run_native(DISPLAY=display, QT_QPA_PLATFORM='no-such-platform')
    assert code == 1, output
    assert 'the native window failed' in output


def test_as_root_the_window_runs_without_chromiums_sandbox_and_says_so(monkeypatch, caplog):
    """The real window test (test_native_window.py) runs without the variable: as root it proves the window opens."""
    monkeypatch.setattr(native.os, 'geteuid', lambda: 0)
    monkeypatch.delenv('QTWEBENGINE_DISABLE_SANDBOX', raising=False)
    monkeypatch.setenv('QTWEBENGINE_CHROMIUM_FLAGS', '--use-fake-ui-for-media-stream')
    with caplog.at_level(logging.WARNING, logger='voice_ui.native'):
        native._allow_running_as_root()
    assert native.os.environ['QTWEBENGINE_DISABLE_SANDBOX'] == '1'
    assert 'running as root' in caplog.text and 'normal user' in caplog.text


def test_as_a_user_the_sandbox_stays_on(monkeypatch):
    monkeypatch.setattr(native.os, 'geteuid', lambda: 1000)
    monkeypatch.delenv('QTWEBENGINE_DISABLE_SANDBOX', raising=False)
    native._allow_running_as_root()
    assert 'QTWEBENGINE_DISABLE_SANDBOX' not in native.os.environ
