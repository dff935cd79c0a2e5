"""The page's "Download transcript" menu, its "Download audio" button and the latency summary line.

The transcript is built in Python from the conversation (voice_ui/export.py) and handed to the browser with
`ui.download.content`: nothing is written to disk. The audio never comes to Python at all: the component records
both sides in the browser (assets/audio/recorder.js), and the button's click is handled there, where the WAV is
made and saved (Blob + object URL). Python only renders the button.
"""
from __future__ import annotations

import time

from nicegui import ui

from .conversation import Conversation
from .export import Export, json_export, markdown_export
from .realtime_session import RealtimeSession


def export_controls(conversation: Conversation, model: str, session: RealtimeSession | None = None) -> None:
    def download(build) -> None:
        export: Export = build(conversation, model=model, now=time.time())
        ui.download.content(export.content, export.filename, export.media_type)

    with ui.row().classes('vu-export items-center gap-2'):
        with ui.button('Download transcript', icon='download').mark('download').props('outline'):
            with ui.menu():
                ui.menu_item('Markdown (.md)', lambda: download(markdown_export)).mark('download-md')
                ui.menu_item('JSON (.json)', lambda: download(json_export)).mark('download-json')
        if session is not None:  # a gesture handled in the browser: no round trip, and no audio to Python
            ui.button('Download audio', icon='audio_file').mark('download-audio').props('outline') \
                .on('click', js_handler=f'() => {session.js_call("download_audio")}') \
                .tooltip('The conversation as one WAV: you on the left channel, the agent (as heard) on the right')
        ui.label().classes('vu-latency-summary').props('aria-label="Latency summary"') \
            .bind_text_from(conversation, 'latency_summary').bind_visibility_from(conversation, 'latency_summary')
