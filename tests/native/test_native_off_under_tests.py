"""Native mode starts only when asked with `--native`: the test suite's argv must never open a window."""
import sys

import pytest
from nicegui import app
from nicegui.testing import User


@pytest.fixture
def native_argv(monkeypatch):
    """Put `--native` on the command line before `user` runs main.py (fixtures set up in argument order)."""
    monkeypatch.setattr(sys, 'argv', ['main.py', '--native'])


async def test_main_ignores_argv_under_user_simulation(native_argv, user: User):
    await user.open('/')
    await user.should_see('Start Speaking')
    assert 'gui' not in app.native.start_args, 'main.py parsed argv and configured native mode'
    assert app.native.main_window is None
