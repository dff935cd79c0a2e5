"""One card per conversation turn, each label bound to its `Turn`; cards follow the conversation's order.

The view listens to the conversation's structural changes (a turn inserted or removed), so a transcript delta
costs nothing here and a new turn costs one card, whatever the conversation's length.
"""
from __future__ import annotations

from nicegui import ui

from .conversation import AGENT, TOOL, Conversation, Turn
from .tools.card import ToolCard
from .tools.runner import ToolRunner

ROLE_LABELS = {AGENT: 'Agent'}
PLACEHOLDER = 'Press Start Speaking (or hold Space), talk, then Stop Speaking.'


class TranscriptView:
    def __init__(self, conversation: Conversation, tools: ToolRunner | None = None) -> None:
        self.tools = tools  # the page's runner: a function_call turn becomes its call's tool card
        self.cards: dict[str, ui.card] = {}
        with ui.column().classes('vu-transcript w-full gap-3') as self.container:
            self.placeholder = ui.label(PLACEHOLDER).classes('vu-placeholder')
        conversation.on_added.append(self._on_added)
        conversation.on_removed.append(self._on_removed)

    def _on_added(self, turn: Turn, index: int) -> None:
        card = self.cards.get(turn.item_id) or self._add_card(turn)
        if index != len(self.cards) - 1:  # not last: move it (+1: the placeholder comes first)
            card.move(target_index=index + 1)
        self.placeholder.set_visibility(False)

    def _on_removed(self, turn: Turn) -> None:
        card = self.cards.pop(turn.item_id, None)
        if card is not None:
            self.container.remove(card)
        self.placeholder.set_visibility(not self.cards)

    def _add_card(self, turn: Turn) -> ui.card:
        if turn.role == TOOL:
            if self.tools is None:  # a page without tools: a call the model should not have made
                turn.text, turn.done = 'Tool call (no tools on this page)', True
            else:
                with self.container:
                    card = self.cards[turn.item_id] = ToolCard.for_item(self.tools, turn.item_id)
                return card
        with self.container:
            with ui.card().classes(f'vu-turn vu-turn-{turn.role}').props('flat bordered') as card:
                with ui.row().classes('vu-turn-head items-center gap-2'):
                    ui.label(ROLE_LABELS.get(turn.role, 'You')).classes('vu-role')
                    ui.spinner('dots', size='sm').classes('vu-live').bind_visibility_from(turn, 'done', lambda d: not d)
                    ui.label().classes('vu-note').bind_text_from(turn, 'note')
                # ui.label renders text, never HTML: a transcript can't inject markup.
                ui.label().classes('vu-text').bind_text_from(turn, 'text')
                if turn.role == AGENT:  # the browser's figures for the turn this reply answers
                    ui.label().classes('vu-latency').props('aria-label=Latency') \
                        .bind_text_from(turn, 'latency_label').bind_visibility_from(turn, 'latency_label')
        self.cards[turn.item_id] = card
        return card
