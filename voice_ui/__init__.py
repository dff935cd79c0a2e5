"""voice-ui: a NiceGUI client for the OpenAI Realtime API, talking straight from the browser."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_ASSET_FOLDERS = (
    _PACKAGE / 'assets',         # an installed wheel or sdist: the build maps the top-level assets/ in here
    _PACKAGE.parent / 'assets',  # a checkout (editable install or run from the clone): the top-level assets/
)


def find_assets() -> Path:
    """The folder with the JS modules, worklets and CSS, wherever the package was installed from."""
    for folder in _ASSET_FOLDERS:
        if (folder / 'realtime_session.js').is_file():
            return folder
    raise RuntimeError(f'voice-ui assets not found (looked in {", ".join(map(str, _ASSET_FOLDERS))}): '
                       'reinstall voice-ui (pip install voice-ui, or pip install -e . from a clone)')


ASSETS = find_assets()


def __getattr__(name: str):  # `from voice_ui import tool`, loaded on first use: the embedded server needs none of it
    if name == 'tool':
        from .tools import tool
        return tool
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
