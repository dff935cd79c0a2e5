"""Keyboard focus follows the turn: after Start it moves to Stop Speaking, after Stop back to Start Speaking.

The buttons a gesture disables (Start while capturing, Stop once pressed) would otherwise leave focus on the page
body, and a keyboard user would have to tab back. Focus moves only when it is lost or still on one of these
buttons: a person typing in the Message box, or in the Settings dialog, keeps their place.
"""
from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from .protocol import Status

# Waits (up to 2 s) for the target to be enabled: its binding arrives with the same status, a moment later.
FOCUS_JS = '''(() => {
  const target = document.getElementById('c%(target)d'), controls = %(controls)s;
  let tries = 0;
  const tick = () => {
    const active = document.activeElement, button = active && active.closest && active.closest('button');
    const onControl = controls.map((id) => document.getElementById(id)).some((el) => el && el.contains(active));
    const lost = !active || active === document.body || (button && button.disabled) || onControl;
    if (!lost || !target) return;
    if (!target.disabled && !target.classList.contains('disabled')) return target.focus();
    if (++tries < 40) setTimeout(tick, 50);
  };
  tick();
})()'''


class TurnFocus:
    def __init__(self, start: ui.button, stop: ui.button, close: ui.button, hands_free: Callable[[], bool]) -> None:
        self.start, self.stop, self.close, self.hands_free = start, stop, close, hands_free
        self.previous = Status.IDLE

    def status(self, status: Status) -> None:
        previous, self.previous = self.previous, status
        target = self.next_control(previous, status)
        if target is not None:
            controls = [f'c{button.id}' for button in (self.start, self.stop, self.close)]
            target.client.run_javascript(FOCUS_JS % {'target': target.id, 'controls': controls})

    def next_control(self, previous: Status, status: Status) -> ui.button | None:
        # The browser leaves out a status replaced before anything else happened (python-link.js), so a Stop may
        # read listening → thinking here, and a Start with a prefetched token idle → listening.
        if status == Status.LISTENING and previous != Status.LISTENING:  # Start (or Space) took effect
            if previous == Status.CONNECTING and self.hands_free():
                return self.close  # hands-free: the server ends turns; Close ends all
            return None if self.hands_free() else self.stop
        if previous in (Status.LISTENING, Status.STOPPING) and not self.hands_free() and status in (
                Status.THINKING, Status.SPEAKING, Status.IDLE):
            return self.start  # the turn was sent: the next one (or talking over the reply) starts there
        if status in (Status.CLOSED, Status.ERROR) and previous != status:
            return self.start
        return None
