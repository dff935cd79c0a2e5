"""The Settings button and dialog: a person's voice, instructions, transcription and turn-detection choices.

Every field has its accessible name (its label) and is checked as it changes by the same pydantic model Save uses
(`voice_ui.settings`): a bad value shows its message on the field, and Save keeps the dialog open until all are
fine. Saved settings go to NiceGUI's user storage (per browser, and per sign-in within it) and to `on_save`,
which hands them to the browser component.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from .access import Identity
from .protocol import VOICES, TurnDetection
from .settings import LABELS, VoiceSettings, field_errors, load, save, user_storage

TURN_DETECTION = {TurnDetection.SERVER_VAD.value: 'Server VAD (pauses end a turn)',
                  TurnDetection.SEMANTIC_VAD.value: 'Semantic VAD (meaning ends a turn)'}
EAGERNESS = {'auto': 'Auto', 'low': 'Low (waits longer)', 'medium': 'Medium', 'high': 'High (answers sooner)'}
SERVER_VAD_FIELDS = ('threshold', 'silence_duration_ms', 'prefix_padding_ms')
TEXT_FIELDS = ('instructions', 'language', 'transcription_prompt')


def owner_of(identity: Identity) -> str:
    """Whose settings these are within one browser: a signed-in name, or the browser's own."""
    return f'user:{identity.name}' if identity.name else 'browser'


class SettingsView:
    """The person's settings (loaded at page render) with the button and dialog that change them."""

    def __init__(self, identity: Identity, defaults: VoiceSettings,
                 on_save: Callable[[VoiceSettings], Any] | None = None) -> None:
        self.owner, self.defaults, self.on_save = owner_of(identity), defaults, on_save
        self.current = load(user_storage(), self.owner, defaults)
        self.fields: dict[str, ui.element] = {}
        self._build_dialog()

    def button(self) -> ui.button:
        return ui.button('Settings', icon='tune', on_click=self.open).mark('settings').props('flat dense')

    def open(self) -> None:
        self._show(self.current)
        self.dialog.open()

    def _build_dialog(self) -> None:
        with ui.dialog().props('aria-label=Settings') as self.dialog, \
                ui.card().classes('vu-settings w-full max-w-lg gap-1').mark('settings-dialog'):
            ui.label('Settings').classes('text-lg font-semibold')
            self._field('voice', ui.select({v: v.capitalize() for v in VOICES}, label=LABELS['voice']))
            self._field('instructions', ui.textarea(LABELS['instructions']).props('autogrow outlined'))
            with ui.row().classes('w-full gap-x-2 gap-y-0 sm:no-wrap'):
                self._field('language', ui.input(LABELS['language']).classes('w-48')
                            .props('hint="e.g. en; empty: detect" maxlength=8'))
                self._field('transcription_prompt', ui.input(LABELS['transcription_prompt']).classes('grow')
                            .props('hint="words to expect"'))
            ui.label('Turns in hands-free mode').classes('vu-settings-section pt-2 font-medium')
            kind = self._field('turn_detection', ui.select(TURN_DETECTION, label=LABELS['turn_detection']))
            server_vad = lambda value: value == TurnDetection.SERVER_VAD.value  # noqa: E731
            with ui.row().classes('w-full gap-2').bind_visibility_from(kind, 'value', server_vad):
                self._field('threshold', ui.number(LABELS['threshold'], step=0.05, format='%.2f')
                            .props('hint="0–1: higher needs louder speech"').classes('grow'))
                self._field('silence_duration_ms', ui.number(LABELS['silence_duration_ms'], step=50).classes('grow'))
                self._field('prefix_padding_ms', ui.number(LABELS['prefix_padding_ms'], step=50).classes('grow'))
            self._field('eagerness', ui.select(EAGERNESS, label=LABELS['eagerness'])
                        .bind_visibility_from(kind, 'value', lambda value: not server_vad(value)))
            self._field('hands_free', ui.switch(LABELS['hands_free']))
            with ui.row().classes('w-full justify-end gap-2 pt-2'):
                ui.button('Reset to defaults', on_click=lambda: self._show(self.defaults)).mark('settings-reset') \
                    .props('flat')
                ui.button('Cancel', on_click=self.dialog.close).mark('settings-cancel').props('flat')
                ui.button('Save', icon='check', on_click=self.save).mark('settings-save')

    def _field(self, name: str, element: ui.element) -> ui.element:
        element.mark(f'setting-{name}')
        if hasattr(element, 'validation'):  # checked as it changes, by the model Save uses
            element.validation = lambda value, name=name: self._check(name, value)
            element.classes(add='w-full')
        self.fields[name] = element
        return element

    def _check(self, name: str, value: Any) -> str | None:
        if value is None and name in SERVER_VAD_FIELDS:
            return 'Enter a number'
        if value is None and name in TEXT_FIELDS:
            value = ''
        return field_errors({**self.current.stored(), name: value}).get(name)

    def values(self) -> dict:
        """The fields' values; a cleared text box (None) is empty text."""
        return {name: '' if element.value is None and name in TEXT_FIELDS else element.value
                for name, element in self.fields.items()}

    def _show(self, settings: VoiceSettings) -> None:
        for name, element in self.fields.items():
            element.value = getattr(settings, name).value if name == 'turn_detection' else getattr(settings, name)
            if hasattr(element, 'error'):
                element.error = None

    async def save(self) -> None:
        """Keep and apply the dialog's values, or leave it open with each bad field's message."""
        values = self.values()
        errors = field_errors(values)
        for name in SERVER_VAD_FIELDS:
            if values[name] is None:
                errors[name] = 'Enter a number'
        for name, element in self.fields.items():
            if hasattr(element, 'error'):
                element.error = errors.get(name)
        if errors:
            return
        self.current = VoiceSettings.model_validate(values)
        save(user_storage(), self.owner, self.current)
        self.dialog.close()
        if self.on_save is not None:
            result = self.on_save(self.current)
            if hasattr(result, '__await__'):
                await result
