"""The page's "Download transcript" menu and the latency summary line, both bound to the `Conversation`.

The file is built in Python from the conversation (voice_ui/export.py) and handed to the browser with
`ui.download.content`: nothing is written to disk, and no audio is involved.
"""
from __future__ import annotations

import time

from nicegui import ui

from .conversation import Conversation
from .export import Export, json_export, markdown_export


def export_controls(conversation: Conversation, model: str) -> None:
    def download(build) -> None:
        export: Export = build(conversation, model=model, now=time.time())
        ui.download.content(export.content, export.filename, export.media_type)

    with ui.row().classes('vu-export items-center gap-2'):
        with ui.button('Download transcript', icon='download').mark('download').props('outline'):
            with ui.menu():
                ui.menu_item('Markdown (.md)', lambda: download(markdown_export)).mark('download-md')
                ui.menu_item('JSON (.json)', lambda: download(json_export)).mark('download-json')
        ui.label().classes('vu-latency-summary').props('aria-label="Latency summary"') \
            .bind_text_from(conversation, 'latency_summary').bind_visibility_from(conversation, 'latency_summary')
