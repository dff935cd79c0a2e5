from __future__ import annotations

import pytest

from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.local_realtime.faults import Faults

from .serving import API_KEY, Served, serve


@pytest.fixture(scope='module')
def served() -> Served:
    """One burst-paced server per test module, fault endpoints on."""
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST),
                                 allow_fault_endpoints=True)
    with serve(config) as served:
        yield served


@pytest.fixture
def base_url(served: Served) -> str:
    yield served.url
    served.server.config.faults.replace_with(Faults())  # whatever a test switched on


@pytest.fixture
def faults(served: Served) -> Faults:
    """The live faults of the module's server; reset after each test."""
    yield served.server.config.faults
    served.server.config.faults.replace_with(Faults())
