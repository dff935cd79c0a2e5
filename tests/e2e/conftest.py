"""Browser fixtures. Without Chromium (or Playwright) the e2e tests skip with the install hint; under CI they fail."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import OUTPUT, TESTDATA, free_port, unavailable

from .harness import LocalServerControl, ServerProcess, Traffic, chromium_args, chromium_path
from .driver import VoicePage

INSTALL_HINT = 'chromium not installed: apt-get install chromium chromium-driver'

# Records every MediaStream the page obtains, so a test can prove Close Session really stopped the mic track.
TRACK_STREAMS_JS = """
(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__voiceUiStreams = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
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


@pytest.fixture(scope='module')
def embedded_app():
    """`python main.py` without a key (the embedded server, its speech models if installed), fault endpoints on.
    Loading the speech models on a loaded 2-core machine can take a while: up to 3 minutes."""
    port = free_port()
    app = ServerProcess('app', ['main.py', '--port', str(port), '--no-browser'], port,
                        env={'OPENAI_API_KEY': '', 'OPENAI_BASE_URL': '', 'VOICE_UI_ALLOW_FAULTS': '1'})
    try:
        yield app.wait_ready(timeout=180)
    finally:
        app.stop()


@pytest.fixture(scope='module')
def embedded_control(embedded_app):
    return LocalServerControl(embedded_app.url)


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


def screenshot(page, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / name), full_page=True)
