"""A tool call in the transcript: name, arguments, result or error, duration - bound to its `ToolCallRecord`,
so the card changes the moment the call finishes. Styled apart from speech cards (assets/tools.css)."""
from __future__ import annotations

import weakref
from pathlib import Path

from nicegui import binding, ui
from nicegui.client import Client

from .record import ToolCallRecord, ToolStatus

CSS = Path(__file__).resolve().parent.parent.parent / 'assets' / 'tools.css'
STATUS_TEXT = {ToolStatus.RUNNING: 'running…', ToolStatus.DONE: 'done', ToolStatus.ERROR: 'failed',
               ToolStatus.CANCELLED: 'cancelled'}
STATUS_ICONS = {ToolStatus.RUNNING: 'build', ToolStatus.DONE: 'check_circle', ToolStatus.ERROR: 'error_outline',
                ToolStatus.CANCELLED: 'block'}
_styled_clients: weakref.WeakSet[Client] = weakref.WeakSet()


class ToolCard(ui.card):
    status = binding.BindableProperty(on_change=lambda card, status: card._restyle(status))

    def __init__(self, record: ToolCallRecord) -> None:
        super().__init__()
        add_tools_css()
        self.record = record
        self.classes('vu-tool-card').props('flat bordered').mark('tool-card')
        with self:
            with ui.row().classes('vu-tool-head w-full items-center no-wrap'):
                ui.icon('build').classes('vu-tool-icon').bind_name_from(record, 'status', STATUS_ICONS.get)
                ui.label(f'Tool · {record.name}').classes('vu-tool-name')
                ui.spinner('dots', size='sm').bind_visibility_from(record, 'status',
                                                                   lambda s: s == ToolStatus.RUNNING)
                ui.label().classes('vu-tool-status').bind_text_from(record, 'status', STATUS_TEXT.get)
                ui.label().classes('vu-tool-duration').bind_text_from(record, 'duration_s', duration_text)
            # ui.label renders text, never HTML: the model's arguments and a tool's output can't inject markup.
            ui.label().classes('vu-tool-arguments').bind_text_from(record, 'arguments', lambda a: a or '(none)')
            ui.label().classes('vu-tool-result').bind_text_from(record, 'result') \
                .bind_visibility_from(record, 'result', bool)
            ui.label().classes('vu-tool-error').props('role=alert').bind_text_from(record, 'error') \
                .bind_visibility_from(record, 'error', bool)
        self.status = record.status
        self._restyle(record.status)
        binding.bind_from(self, 'status', record, 'status')

    def _restyle(self, status: str) -> None:
        self.classes(remove=' '.join(f'vu-tool-{s}-status' for s in ToolStatus), add=f'vu-tool-{status}-status')


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ''
    return f'{seconds * 1000:.0f} ms' if seconds < 1 else f'{seconds:.1f} s'


def add_tools_css() -> None:
    """The tool-card styles, once per page (cards come and go; the stylesheet need not)."""
    client = ui.context.client
    if client not in _styled_clients:
        _styled_clients.add(client)
        ui.add_css(CSS.read_text(encoding='utf-8'))
