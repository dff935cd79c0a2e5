"""A NiceGUI app with pages (including a catch-all) that mounts the embedded server afterwards.

Run by test_standalone.py in a subprocess: `python tests/local_realtime/nicegui_host.py PORT KEY`.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from nicegui import app, ui  # noqa: E402

from voice_ui.local_realtime.server_config import LocalRealtimeConfig  # noqa: E402
from voice_ui.local_realtime.server import mount_local_realtime  # noqa: E402


@ui.page('/')
def index() -> None:
    ui.label('voice-ui host page')


@ui.page('/{anything:path}')
def catch_all(anything: str) -> None:
    ui.label(f'catch-all page for {anything}')


mount_local_realtime(app, LocalRealtimeConfig(api_keys={sys.argv[2]}))
ui.run(host='127.0.0.1', port=int(sys.argv[1]), show=False, reload=False, title='host')
