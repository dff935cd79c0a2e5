"""The wheel and sdist carry every asset: pyproject.toml maps the top-level assets/ into the package. This checks
the mapping covers every file there (a new folder or file type must be added to it); .ci/run then builds the
wheel, installs it into a fresh venv and loads every asset in Chromium (.ci/wheel_smoke.py)."""
from __future__ import annotations

import fnmatch
import tomllib

import voice_ui
from tests.support import REPO


def test_every_asset_is_mapped_into_the_package():
    setuptools = tomllib.loads((REPO / 'pyproject.toml').read_text(encoding='utf-8'))['tool']['setuptools']
    assert setuptools['package-dir'] == {'voice_ui.assets': 'assets'}
    unshipped = []
    for path in sorted(p for p in (REPO / 'assets').rglob('*') if p.is_file()):
        relative = path.relative_to(REPO / 'assets')
        package = '.'.join(('voice_ui', 'assets', *relative.parent.parts))
        globs = setuptools['package-data'].get(package, [])
        if package not in setuptools['packages'] or not any(fnmatch.fnmatch(path.name, g) for g in globs):
            unshipped.append(str(relative))
    assert not unshipped, f'not shipped in the wheel (add them to pyproject.toml): {unshipped}'


def test_every_python_package_is_listed():
    """pyproject.toml lists the packages (setuptools' `find` cannot see the mapped assets/): a new subpackage must
    be added there, or the wheel ships without it."""
    listed = set(tomllib.loads((REPO / 'pyproject.toml').read_text(encoding='utf-8'))['tool']['setuptools']['packages'])
    found = {'.'.join(init.parent.relative_to(REPO).parts) for init in (REPO / 'voice_ui').rglob('__init__.py')}
    assert found - listed == set(), f'not in pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}'


def test_a_checkout_finds_the_top_level_assets():
    assert voice_ui.ASSETS == REPO / 'assets' and (voice_ui.ASSETS / 'realtime_session.js').is_file()
