"""Native window mode: pywebview with its Qt backend, a phone-sized window, and no process outliving the other.

NiceGUI opens the window in a *spawned* process that re-imports `main.py` (as `__mp_main__`), so `configure()`
runs twice: in the server process (before `ui.run`) and in the window process, where it is all that is needed.
"""
from __future__ import annotations

import atexit
import importlib.util
import logging
import multiprocessing
import os
import sys
import threading
import time

from nicegui import app

WINDOW_TITLE = 'voice-ui'
WINDOW_SIZE = (520, 760)  # fits a 768 px high laptop screen with its panel
MIN_SIZE = (380, 520)
PARENT_GONE_GRACE_S = 5.0
PARENT_POLL_S = 0.5
HEADLESS_QPA = {'offscreen', 'minimal', 'vnc', 'eglfs', 'linuxfb'}  # Qt platforms that need no DISPLAY

log = logging.getLogger(__name__)


def is_window_process() -> bool:
    """True in a process spawned by NiceGUI (the native window) rather than the one running the server.

    The name, not `parent_process()`: the latter is only set after the spawned child has re-imported main.py."""
    return multiprocessing.current_process().name != 'MainProcess'


def configure() -> None:
    """Force Qt (GTK's webview never answers WebKit's microphone request) and tie both processes' lifetimes."""
    # qtpy prefers PyQt5 when several bindings are installed; the `native` extra ships PyQt6 + PyQt6-WebEngine.
    os.environ.setdefault('QT_API', 'pyqt6')
    app.native.start_args['gui'] = 'qt'  # forwarded to the window process and applied to `webview.start()`
    app.native.window_args.update(min_size=MIN_SIZE, text_select=True)  # transcripts can be copied
    if is_window_process():
        _close_window_when_parent_dies()
    else:
        _require_qt_webview()
        _require_display()
        _allow_running_as_root()
        app.on_shutdown(_close_window)
        app.on_startup(_exit_non_zero_if_the_window_fails)


def _require_display() -> None:
    """Without a display Qt aborts in the window process and the app would end with rc 0 and a misleading hint."""
    if not sys.platform.startswith('linux') or os.environ.get('QT_QPA_PLATFORM', '').split(':')[0] in HEADLESS_QPA:
        return
    if not (os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')):
        raise SystemExit('--native needs a graphical display, and there is none (DISPLAY and WAYLAND_DISPLAY are '
                         'not set). Start it from a desktop session, under a virtual display '
                         '(xvfb-run -a python main.py --native), or without --native and open the URL in a browser.')


def _allow_running_as_root() -> None:
    """Chromium (inside QtWebEngine) refuses to start its sandbox as root, which containers and CI often are."""
    if not hasattr(os, 'geteuid') or os.geteuid() != 0 or 'QTWEBENGINE_DISABLE_SANDBOX' in os.environ:
        return
    if '--no-sandbox' in os.environ.get('QTWEBENGINE_CHROMIUM_FLAGS', ''):
        return
    os.environ['QTWEBENGINE_DISABLE_SANDBOX'] = '1'  # inherited by the window process spawned in ui.run
    log.warning('running as root: QtWebEngine cannot use its sandbox as root, so the window runs without it '
                '(QTWEBENGINE_DISABLE_SANDBOX=1). Run voice-ui as a normal user to keep the sandbox.')


def _exit_non_zero_if_the_window_fails() -> None:
    """NiceGUI ends the app with rc 0 when the window process ends, however it ended; a crashed window
    (Qt could not start, a missing library) must fail the command instead, after its messages."""
    # At start-up the window (spawned in ui.run, before the server starts) is this process's only child.
    window = next(iter(multiprocessing.active_children()), None)

    def exit_code() -> None:  # atexit runs inside NiceGUI's stop_and_exit, just before its os._exit(0)
        if window is not None and window.exitcode not in (0, None):
            log.error('the native window failed (exit code %s); see its messages above', window.exitcode)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)

    atexit.register(exit_code)


def _require_qt_webview() -> None:
    """Say what to install, instead of NiceGUI's generic hint or a traceback from the window process."""
    missing = [name for name in ('webview', 'qtpy', 'PyQt6.QtWebEngineWidgets') if not _importable(name)]
    if missing:
        raise SystemExit(f'--native needs pywebview with Qt WebEngine (missing: {", ".join(missing)}). '
                         'Install it with: pip install -e ".[native]" (Linux also needs the Qt system libraries, '
                         'see README).')


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package, or a module without a spec
        return False


def _close_window() -> None:
    """Server stopping (Ctrl+C, SIGTERM, `app.shutdown()`): close the window instead of leaving a dead page."""
    if app.native.main_window is not None:
        app.native.main_window.destroy()


def _close_window_when_parent_dies() -> None:
    """The server process may vanish without telling us (SIGKILL, crash): close the window, then make sure we
    exit even if Qt does not, so no window or QtWebEngine process is orphaned."""
    parent_pid = os.getppid()

    def watch() -> None:
        while os.getppid() == parent_pid:  # an orphan is re-parented (to init or a subreaper)
            time.sleep(PARENT_POLL_S)
        log.warning('voice-ui server process ended; closing the native window')
        try:
            import webview  # pylint: disable=import-outside-toplevel
            for window in list(webview.windows):
                window.destroy()
        finally:
            deadline = threading.Timer(PARENT_GONE_GRACE_S, os._exit, args=(0,))
            deadline.daemon = True
            deadline.start()

    threading.Thread(target=watch, name='voice-ui-parent-watch', daemon=True).start()
