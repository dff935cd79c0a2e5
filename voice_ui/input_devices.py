"""The audio inputs a page's browser lists (assets/mic-devices.js), as checked from its untrusted `devices` event."""
from __future__ import annotations

from dataclasses import dataclass

MAX_DEVICES = 33  # the system default and at most 32 inputs (assets/mic-devices.js)


@dataclass(frozen=True, slots=True)
class InputDevice:
    device_id: str  # '' = the system default
    label: str


def devices_from(args: dict) -> tuple[list[InputDevice], str] | None:
    """A `devices` event's list and selection, bounded; None unless it is a list of distinct ids, default first."""
    listed = args.get('devices')
    devices = [InputDevice(_text(d.get('device_id'), 256), _text(d.get('label'), 200) or 'Microphone')
               for d in (listed[:MAX_DEVICES] if isinstance(listed, list) else []) if isinstance(d, dict)]
    if not devices or devices[0].device_id != '' or len({d.device_id for d in devices}) != len(devices):
        return None
    return devices, _text(args.get('selected'), 256)


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ''
