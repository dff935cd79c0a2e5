"""The Microphone select and the two level meters ("Microphone level", "Agent level").

The browser owns the device (assets/microphone.js): it lists the audio inputs (once it may name them, and again on
`devicechange`), opens the chosen one, and switches at once when the select changes — the select's own JavaScript
handler tells the component inside the gesture. Python shows the list it is sent and remembers the person's choice
in `app.storage.user`, which the next page passes back to the browser. The meters are drawn by the browser from
the capture worklet's level and the player's output: no level ever reaches Python.
"""
from __future__ import annotations

from nicegui import ui

from . import ASSETS
from .realtime_session import DevicesEventArguments, RealtimeSession
from .settings import user_storage

STORAGE_KEY = 'voice_ui.microphone'
DEFAULT_LABEL = 'System default'  # the browser's name of the option '' until it has listed the devices
REMEMBERED_LABEL = 'Remembered microphone'


def remembered() -> tuple[str, str]:
    """The person's chosen input (device id, label); ('', '') for the system default or without user storage."""
    value = user_storage().get(STORAGE_KEY)  # without user storage nothing is remembered
    if not isinstance(value, dict):
        return '', ''
    device_id, label = value.get('device_id'), value.get('label')
    if not isinstance(device_id, str) or len(device_id) > 256:
        return '', ''
    return device_id, label[:200] if isinstance(label, str) else ''


def remember(device_id: str, label: str) -> None:
    user_storage()[STORAGE_KEY] = {'device_id': device_id, 'label': label}  # without user storage: this page only


def level_meter(name: str, kind: str) -> ui.element:
    """A bar the browser fills (`--vu-level`, aria-valuenow); Python only renders it once."""
    meter = ui.element('div').classes(f'vu-meter vu-meter-{kind}').props(
        f'role=meter aria-label="{name}" title="{name}" aria-valuemin=0 aria-valuemax=100 aria-valuenow=0')
    with meter:
        ui.element('div').classes('vu-meter-fill').props('aria-hidden=true')
    return meter


class MicrophoneView:
    def __init__(self, session: RealtimeSession) -> None:
        ui.add_css((ASSETS / 'microphone.css').read_text(encoding='utf-8'))
        device_id, label = remembered()
        options = {'': DEFAULT_LABEL} | ({device_id: label or REMEMBERED_LABEL} if device_id else {})
        self._listing = False  # set while the browser's list is applied: that is no choice of the person's
        with ui.row().classes('vu-microphone w-full items-center no-wrap gap-3'):
            self.select = ui.select(options, value=device_id, label='Microphone', on_change=self._chosen) \
                .classes('vu-mic-select').props('outlined dense options-dense').mark('microphone')
            # The switch happens in the browser, inside the gesture; the option's label names the device there.
            switch = session.js_call('set_microphone', 'null', 'v && v.label')
            self.select.on('update:model-value', js_handler=f'(v) => {switch}')
            with ui.column().classes('vu-meters gap-1'):
                with ui.row().classes('items-center no-wrap gap-2'):
                    ui.icon('mic').classes('vu-meter-icon').props('aria-hidden=true')
                    self.level = level_meter('Microphone level', 'microphone')
                with ui.row().classes('items-center no-wrap gap-2'):
                    ui.icon('graphic_eq').classes('vu-meter-icon').props('aria-hidden=true')
                    self.agent_level = level_meter('Agent level', 'agent')
        session.show_microphone(device_id, label, level=self.level, agent_level=self.agent_level)
        session.on_devices(self._listed)

    def _chosen(self) -> None:
        if not self._listing:
            device_id = self.select.value or ''
            remember(device_id, self.select.options.get(device_id, '') if device_id else '')

    def _listed(self, e: DevicesEventArguments) -> None:
        """The browser's device list: shown as it is, with the device in use selected (the choice stays stored,
        so that a device unplugged now is used again once it is back)."""
        options = {device.device_id: device.label for device in e.devices}
        self._listing = True
        try:
            self.select.set_options(options, value=e.selected if e.selected in options else '')
        finally:
            self._listing = False
