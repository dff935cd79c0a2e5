"""`python -m voice_ui [--host H] [--port P] [--native] [--local] [--no-browser]`: the app from an installed
package (a clone can also run `python main.py`, the same thing)."""
from nicegui.helpers import is_pytest

from voice_ui.app import run
from voice_ui.config import parse_args


def main() -> None:
    # Under NiceGUI's test fixtures (User or Screen) argv belongs to pytest, not to us.
    run(parse_args([] if is_pytest() else None))


# '__mp_main__': NiceGUI's native window process re-imports the main module and needs run()'s native setup.
if __name__ in {'__main__', '__mp_main__'}:
    main()
