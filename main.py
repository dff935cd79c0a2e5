"""Entry point: `python main.py [--host H] [--port P] [--native] [--local]` (see `--help`)."""
from nicegui.helpers import is_pytest

from voice_ui.app import run
from voice_ui.config import parse_args

if __name__ in {'__main__', '__mp_main__'}:
    # Under NiceGUI's test fixtures (User or Screen) argv belongs to pytest, not to us.
    run(parse_args([] if is_pytest() else None))
