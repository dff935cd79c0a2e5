"""Firefox fixtures. Without Firefox, PulseAudio (and its paplay) or marionette_driver these tests skip with the
install hint; under CI they fail (tests.support.unavailable)."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import FAULTS, running_app
from tests.e2e.harness import LocalServerControl
from tests.support import unavailable

from .browser import DRIVER_HINT, INSTALL_HINT, FirefoxWithAudio, firefox_path, paplay_path, pulseaudio_path

# The sound server's rate is the AudioContext's in Firefox (it runs at the device rate, never at 24 kHz): both
# common device rates, so the capture worklet's resampling to 24 kHz is proven at each.
DEVICE_RATES = (44100, 48000)


@pytest.fixture(scope='session')
def firefox_binary() -> str:
    path = firefox_path()
    if not path or not pulseaudio_path() or not paplay_path():
        unavailable(INSTALL_HINT)
    try:
        import marionette_driver  # noqa: F401
    except ImportError:
        unavailable(DRIVER_HINT)
    return path


@pytest.fixture(scope='module', params=DEVICE_RATES, ids=lambda rate: f'{rate}Hz')
def firefox(request, firefox_binary):
    """A headless Firefox on a private PulseAudio (output and microphone) at the given rate, closed afterwards."""
    browser = FirefoxWithAudio(firefox_binary, device_rate=request.param)
    yield browser
    browser.close()


@pytest.fixture(scope='module')
def app(request):
    """One keyless app (`python main.py`, embedded server) with the server's faults and session introspection."""
    with running_app(request.module.__name__.rsplit('.', 1)[-1], env=FAULTS) as app:
        yield app


@pytest.fixture(scope='module')
def control(app):
    return LocalServerControl(app.url)
