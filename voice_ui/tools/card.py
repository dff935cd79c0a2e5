"""A tool call in the transcript: name, arguments, result or error, duration - bound to its `ToolCallRecord`,
so the card changes the moment the call finishes. Styled apart from speech cards (assets/tools.css).

The transcript may learn of a `function_call` item before the call starts (its arguments still streaming):
`ToolCard.for_item(runner, item_id)` shows a card at once and binds it when the runner starts that call.
"""
from __future__ import annotations

import weakref

from nicegui import binding, ui
from nicegui.client import Client

from .. import ASSETS
from .record import ToolCallRecord, ToolStatus
from .runner import ToolRunner

CSS = ASSETS / 'tools.css'  # voice_ui.ASSETS: inside an installed package, beside it in a checkout
STATUS_TEXT = {ToolStatus.RUNNING: 'running…', ToolStatus.DONE: 'done', ToolStatus.ERROR: 'failed',
               ToolStatus.CANCELLED: 'cancelled'}
STATUS_ICONS = {ToolStatus.RUNNING: 'build', ToolStatus.DONE: 'check_circle', ToolStatus.ERROR: 'error_outline',
                ToolStatus.CANCELLED: 'block'}
_styled_clients: weakref.WeakSet[Client] = weakref.WeakSet()


class ToolCard(ui.card):
    status = binding.BindableProperty(on_change=lambda card, status: card._restyle(status))

    def __init__(self, record: ToolCallRecord | None = None) -> None:
        super().__init__()
        add_tools_css()
        self.record: ToolCallRecord | None = None
        self.status = ''
        self.classes('vu-tool-card').props('flat bordered').mark('tool-card')
        with self:
            with ui.row().classes('vu-tool-head w-full items-center no-wrap'):
                self.icon = ui.icon('build').classes('vu-tool-icon')
                self.name = ui.label('Tool call…').classes('vu-tool-name')
                self.spinner = ui.spinner('dots', size='sm')
                self.status_label = ui.label().classes('vu-tool-status')
                self.duration = ui.label().classes('vu-tool-duration')
            # ui.label renders text, never HTML: the model's arguments and a tool's output can't inject markup.
            self.arguments = ui.label().classes('vu-tool-arguments')
            self.result = ui.label().classes('vu-tool-result')
            self.error = ui.label().classes('vu-tool-error').props('role=alert')
        self.result.visible = self.error.visible = False
        if record is not None:
            self.attach(record)

    @classmethod
    def for_item(cls, runner: ToolRunner, item_id: str) -> ToolCard:
        """A card for the `function_call` item `item_id`, bound now or as soon as the runner starts the call."""
        card = cls(next((r for r in runner.records.values() if r.item_id == item_id), None))
        if card.record is None:
            def bind(record: ToolCallRecord) -> None:
                if record.item_id == item_id and card.record is None and not card.is_deleted:
                    card.attach(record)
            runner.on_call.subscribe(bind)
        return card

    def attach(self, record: ToolCallRecord) -> None:
        self.record = record
        self.name.set_text(f'Tool · {record.name}')
        self.icon.bind_name_from(record, 'status', STATUS_ICONS.get)
        self.spinner.bind_visibility_from(record, 'status', lambda s: s == ToolStatus.RUNNING)
        self.status_label.bind_text_from(record, 'status', STATUS_TEXT.get)
        self.duration.bind_text_from(record, 'duration_s', duration_text)
        self.arguments.bind_text_from(record, 'arguments', lambda a: a or '(none)')
        self.result.bind_text_from(record, 'result').bind_visibility_from(record, 'result', bool)
        self.error.bind_text_from(record, 'error').bind_visibility_from(record, 'error', bool)
        self.status = record.status
        self._restyle(record.status)
        binding.bind_from(self, 'status', record, 'status')

    def _restyle(self, status: str) -> None:
        self.classes(remove=' '.join(f'vu-tool-{s}-status' for s in ToolStatus),
                     add=f'vu-tool-{status}-status' if status else None)


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
