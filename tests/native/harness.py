"""Runs `python main.py --native` as a user does, on a private Xvfb display, with QtWebEngine's fake microphone
fed from a test WAV and its DevTools port open, and watches every process the app starts.

Xvfb rather than `QT_QPA_PLATFORM=offscreen`: only a real X server lets the test close the window the way a
window manager does (WM_DELETE_WINDOW), which is the exit path a person takes.
"""
from __future__ import annotations

import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


from tests.native import cdp
from tests.support import OUTPUT, REPO, AppProcess, free_port, unavailable, wait_until

QT_PROBE = 'import webview, qtpy; from qtpy.QtWebEngineWidgets import QWebEngineView; print(qtpy.API_NAME)'


def native_problem() -> str | None:
    """Why the native window cannot run here, or None."""
    if not shutil.which('Xvfb'):
        return 'Xvfb is not installed (apt-get install xvfb)'
    if not ctypes.util.find_library('X11'):
        return 'libX11 is not installed (apt-get install libx11-6)'
    probe = subprocess.run([sys.executable, '-c', QT_PROBE], capture_output=True, text=True, timeout=60,
                           env={**os.environ, 'QT_API': 'pyqt6'})
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ['?'])[-1]
        return f'pywebview + Qt WebEngine cannot load (pip install -e ".[native]" and the Qt system libraries): {last}'
    return None


def require_native() -> None:
    """Skip with the reason outside CI; in CI a machine that cannot run the window is a failure."""
    problem = native_problem()
    if problem:
        unavailable(f'native window test cannot run: {problem}')


class Xvfb:
    """A private X display; `-displayfd` lets Xvfb pick a free display number and tell us which."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.process = subprocess.Popen(['Xvfb', '-displayfd', str(write_end), '-screen', '0', '1280x1024x24',
                                         '-nolisten', 'tcp'], pass_fds=(write_end,),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            self.stop()
            raise RuntimeError('Xvfb did not report a display')
        self.display = f':{number}'

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class NativeApp:
    """`python main.py --native --port P --no-browser` without an API key (so the embedded server answers),
    in its own session so every process it spawns, QtWebEngine's included, can be found and cleaned up."""

    def __init__(self, display: str, mic_wav: Path | None = None) -> None:
        self.display = display
        self.port, self.debug_port = free_port(), free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        flags = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']
        if mic_wav is not None:
            flags.append(f'--use-file-for-fake-audio-capture={mic_wav}%noloop')  # once, then silence
        # No key: the embedded server answers. No PYWEBVIEW_GUI: the app must force Qt by itself. As root the app
        # must turn Chromium's sandbox off by itself too (a user's container); as a user the sandbox may lack the
        # kernel features it needs here, so the test turns it off.
        sandbox = {'QTWEBENGINE_DISABLE_SANDBOX': None if os.geteuid() == 0 else '1'}
        env = dict(DISPLAY=display, QT_QPA_PLATFORM='xcb', QTWEBENGINE_CHROMIUM_FLAGS=' '.join(flags),
                   QTWEBENGINE_REMOTE_DEBUGGING=str(self.debug_port), VOICE_UI_ALLOW_FAULTS='1', OPENAI_API_KEY=None,
                   OPENAI_BASE_URL=None, PYWEBVIEW_GUI=None, WAYLAND_DISPLAY=None, **sandbox)
        # cwd: a .env in the repo must not switch the app to OpenAI; main.py is given by absolute path. Its own
        # session, so every process it spawns can be found and ended.
        self.app = AppProcess(f'native-{self.port}', [str(REPO / 'main.py'), '--native', '--port', str(self.port),
                                                      '--no-browser'], self.port, env, cwd=OUTPUT, new_session=True)
        self.process, self.log_path, self.log_tail = self.app.process, self.app.log_path, self.app.log_tail
        self.session_id = self.process.pid

    def wait_for_window(self, timeout: float) -> dict:
        """The DevTools target of the window's page once it has loaded the app; fails fast if the app died."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            try:
                return cdp.wait_for_page(self.debug_port, self.url, timeout=min(2.0, deadline - time.monotonic()))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise
        raise RuntimeError(f'the app exited with {self.process.returncode} before its window loaded')

    def live_processes(self) -> list[str]:
        """Processes of the app's session that are still running (zombies excluded), as 'pid name'."""
        return [f'{pid} {name}' for pid, name, state in _session_processes(self.session_id) if state != 'Z']

    def wait_until_gone(self, timeout: float) -> list[str]:
        """Wait for every process of the session to end; returns those still alive at the deadline."""
        try:
            wait_until(lambda: not self.live_processes(), timeout, 'every process of the app ending', interval=0.2)
        except TimeoutError:
            return self.live_processes()
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        return []

    def kill_all(self) -> None:
        """Cleanup whatever the test outcome: end the whole session, then close the log."""
        for _ in range(2):
            for pid, _name, state in _session_processes(self.session_id):
                if state != 'Z':
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.app.stop()  # reaps the child and closes the log


def _session_processes(session_id: int) -> list[tuple[int, str, str]]:
    """(pid, name, state) of every process in a session, read from /proc (reparented orphans included)."""
    found = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / 'stat').read_text()
        except OSError:
            continue
        name = stat[stat.index('(') + 1:stat.rindex(')')]
        fields = stat[stat.rindex(')') + 2:].split()  # state, ppid, pgrp, session, ...
        if int(fields[3]) == session_id:
            found.append((int(entry.name), name, fields[0]))
    return found
