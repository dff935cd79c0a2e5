"""Entry point of a clone: `python main.py [--host H] [--port P] [--native] [--local]` (see `--help`).
An installed package runs the same app with `python -m voice_ui`."""
from voice_ui.__main__ import main

# '__mp_main__': NiceGUI's native window process re-imports this file and needs run()'s native setup.
if __name__ in {'__main__', '__mp_main__'}:
    main()
