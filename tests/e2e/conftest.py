"""Browser fixtures. Without Chromium (or Playwright) the e2e tests skip with the install hint; under CI they fail."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import OUTPUT, TESTDATA, free_port, unavailable

from .harness import LocalServerControl, ServerProcess, Traffic, chromium_args, chromium_path
from .driver import VoicePage

INSTALL_HINT = 'chromium not installed: apt-get install chromium chromium-driver'

# Records every MediaStream the page obtains (and the constraints asked), so a test can prove Close Session really
# stopped the mic track, or which device was asked for.
TRACK_STREAMS_JS = """
(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__voiceUiStreams = [];
  window.__voiceUiConstraints = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__voiceUiConstraints.push(JSON.parse(JSON.stringify(constraints)));
    const stream = await original(constraints);
    window.__voiceUiStreams.push(stream);
    return stream;
  };
})();
"""


@pytest.fixture(scope='session')
def chromium() -> str:
    path = chromium_path()
    if not path:
        unavailable(INSTALL_HINT)
    return path


@pytest.fixture(scope='module')
def playwright(chromium):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable('playwright not installed: pip install -e ".[test]" '
                '(never `playwright install`: Debian\'s chromium is used)')
    with sync_playwright() as instance:
        yield instance


def open_voice_page(playwright, chromium: str, mic: str | Path, url: str, init_scripts: tuple[str, ...] = (),
                    **page_options):
    """A fresh Chromium whose fake mic speaks `TESTDATA/<mic>.mic48k.wav` (or the WAV at a path) once per
    getUserMedia; `init_scripts` run before the page's own; `page_options` go to `new_page` (e.g. a phone's
    viewport, or color_scheme='dark')."""
    wav = mic if isinstance(mic, Path) else TESTDATA / f'{mic}.mic48k.wav'
    assert wav.is_file(), f'test speech missing: {wav}'
    browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=chromium_args(wav))
    page = browser.new_page(**{'viewport': {'width': 900, 'height': 900}, **page_options})
    page.add_init_script(TRACK_STREAMS_JS)
    for script in init_scripts:
        page.add_init_script(script)
    traffic = Traffic(page)
    console = []
    page.on('console', lambda message: console.append(f'{message.type}: {message.text}'))
    page.on('pageerror', lambda error: console.append(f'pageerror: {error}'))
    voice = VoicePage(page, traffic).open(url)
    voice.console = console
    return browser, voice


@contextmanager
def voice_page(playwright, chromium: str, mic: str | Path, url: str) -> Iterator[VoicePage]:
    """`open_voice_page` for a `with` block (or a fixture): the browser closes afterwards."""
    browser, voice = open_voice_page(playwright, chromium, mic, url)
    try:
        yield voice
    finally:
        browser.close()


KEYLESS = {'OPENAI_API_KEY': '', 'OPENAI_BASE_URL': ''}  # no key: the app mounts the embedded server
FAULTS = {'VOICE_UI_ALLOW_FAULTS': '1'}                 # the embedded server's faults and session introspection


@contextmanager
def running_app(name: str, *args: str, env: dict | None = None, entry: tuple[str, ...] = ('main.py',)
                ) -> Iterator[ServerProcess]:
    """The app as a user starts it (`python main.py --port P --no-browser …`) on a free port, stopped afterwards.
    Keyless unless `env` says otherwise."""
    port = free_port()
    app = ServerProcess(name, [*entry, '--port', str(port), '--no-browser', *args], port,
                        env={**KEYLESS, **(env or {})})
    try:
        yield app.wait_ready(timeout=180)  # loading the speech models on a loaded 2-core machine can take minutes
    finally:
        app.stop()


@contextmanager
def running_realtime_server(name: str, api_key: str, *args: str) -> Iterator[ServerProcess]:
    """The embedded server standalone (`python -m voice_ui.local_realtime`), with faults and introspection."""
    port = free_port()
    server = ServerProcess(name, ['-m', 'voice_ui.local_realtime', '--port', str(port), '--api-key', api_key,
                                  '--allow-faults', *args], port, ready_path='/v1/_local/faults')
    try:
        yield server.wait_ready()
    finally:
        server.stop()


@pytest.fixture(scope='module')
def app(request):
    """One keyless app per test module, with the embedded server's faults and introspection (a module that needs
    another app defines its own `app`)."""
    with running_app(request.module.__name__.rsplit('.', 1)[-1], env=FAULTS) as app:
        yield app


@pytest.fixture(scope='module')
def control(app):
    return LocalServerControl(app.url)


@pytest.fixture(scope='module')
def page(playwright, chromium, app):
    """One page of the module's keyless app (the weather recording as its mic), for tests of the browser modules on
    their own (a module that needs another page defines its own `page`)."""
    with voice_page(playwright, chromium, 'weather', app.url) as voice:
        yield voice.page


@pytest.fixture
def fresh_weather_voice(playwright, chromium, app, control):
    """A fresh page per test (the weather recording as its mic), the server's session log cleared first."""
    control.clear_sessions()
    with voice_page(playwright, chromium, 'weather', app.url) as voice:
        yield voice


def screenshot(page, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), full_page=True)
