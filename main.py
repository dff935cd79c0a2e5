"""Entry point: `python main.py [--host H] [--port P] [--native] [--local]` (see `--help`)."""
import os

from voice_ui.app import run
from voice_ui.config import parse_args

if __name__ in {'__main__', '__mp_main__'}:
    # Under NiceGUI's test runner argv belongs to pytest, not to us.
    run(parse_args([] if os.environ.get('NICEGUI_USER_SIMULATION') else None))
