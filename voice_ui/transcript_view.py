"""One card per conversation turn, each label bound to its `Turn`; cards follow the state's order."""
from __future__ import annotations

from nicegui import ui

from .conversation import AGENT, Conversation, Turn

ROLE_LABELS = {AGENT: 'Agent'}


class TranscriptView:
    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.cards: dict[str, ui.card] = {}
        with ui.column().classes('vu-transcript w-full gap-3') as self.container:
            self.placeholder = ui.label('Press Start Speaking (or hold Space), talk, then Stop Speaking.') \
                .classes('vu-placeholder')

    def sync(self) -> None:
        """Add cards for new turns, drop cards of deleted ones and keep the conversation's order."""
        turns = self.conversation.turns
        for item_id in set(self.cards) - {t.item_id for t in turns}:
            self.container.remove(self.cards.pop(item_id))
        for index, turn in enumerate(turns):
            card = self.cards.get(turn.item_id) or self._add_card(turn)
            if self.container.default_slot.children.index(card) != index + 1:  # +1: the placeholder comes first
                card.move(target_index=index + 1)
        self.placeholder.set_visibility(not turns)

    def clear(self) -> None:
        for card in self.cards.values():
            self.container.remove(card)
        self.cards.clear()
        self.placeholder.set_visibility(True)

    def _add_card(self, turn: Turn) -> ui.card:
        with self.container:
            with ui.card().classes(f'vu-turn vu-turn-{turn.role}').props('flat bordered') as card:
                with ui.row().classes('vu-turn-head items-center gap-2'):
                    ui.label(ROLE_LABELS.get(turn.role, 'You')).classes('vu-role')
                    ui.spinner('dots', size='sm').classes('vu-live').bind_visibility_from(turn, 'done', lambda d: not d)
                    ui.label().classes('vu-note').bind_text_from(turn, 'note')
                # ui.label renders text, never HTML: a transcript can't inject markup.
                ui.label().classes('vu-text').bind_text_from(turn, 'text')
        self.cards[turn.item_id] = card
        return card
