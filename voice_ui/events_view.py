"""The "Events" drawer: the Realtime socket's client and server events, as the browser's ring buffer holds them
(assets/event-log.js: capped, audio and credentials redacted there, before anything is shown).

Nothing flows while it is closed: the browser then keeps only each event's type and ids, and Python asks for the
log only while the drawer is open (once a second, unless paused).
"""
from __future__ import annotations

from collections import deque

from nicegui import ui

from .realtime_session import RealtimeSession

ARROWS = {'client': '→ client', 'server': '← server'}
REFRESH_S = 1.0
MAX_LINES = 500


def entry_line(entry: dict) -> str:
    """One log line from one (untrusted) browser entry."""
    t = entry.get('t')
    number = isinstance(t, (int, float)) and not isinstance(t, bool) and abs(t) < 1e15
    seconds = f'{t / 1000:10.3f} s' if number else ' ' * 12
    direction = entry.get('direction')
    direction = ARROWS.get(direction, '?') if isinstance(direction, str) else '?'
    kind = entry.get('type') if isinstance(entry.get('type'), str) else '?'
    json_text = entry.get('json') if isinstance(entry.get('json'), str) else ''
    return f'{seconds}  {direction}  {kind[:100]}  {json_text[:1000]}'.rstrip()


class EventsDrawer:
    def __init__(self, session: RealtimeSession) -> None:
        self.session = session
        self.lines: deque[str] = deque(maxlen=MAX_LINES)
        self.next = 0  # the browser's number of the next entry to show
        # seamless: no backdrop, so the page stays usable (Start, Stop, Space) while the drawer is open.
        with ui.dialog().props('position=right full-height seamless') as self.dialog, \
                ui.card().classes('vu-events w-[26rem] max-w-full h-full'):
            with ui.row().classes('w-full items-center gap-2'):
                ui.label('Events').classes('text-lg font-semibold grow')
                self.paused = ui.switch('Pause')
                ui.button(icon='content_copy', on_click=self.copy).props('flat round dense aria-label="Copy events"')
                ui.button(icon='close', on_click=self.dialog.close).props('flat round dense aria-label="Close events"')
            self.filter = ui.input('Filter by type', placeholder='e.g. response.', on_change=self.restart) \
                .props('dense clearable').classes('w-full')
            self.count = ui.label().classes('vu-tip')
            self.log = ui.log(max_lines=MAX_LINES).classes('grow w-full text-xs')
        self.timer = ui.timer(REFRESH_S, self.refresh, active=False)
        self.dialog.on_value_change(self._toggled)

    def open(self) -> None:
        self.dialog.open()

    async def _toggled(self, e) -> None:
        self.timer.active = bool(e.value)
        if e.value:
            await self.refresh()
        else:
            await self.fetch(live=False)  # the browser goes back to type-and-ids entries

    async def restart(self) -> None:
        self.next = 0
        self.lines.clear()
        self.log.clear()
        await self.refresh()

    async def fetch(self, *, live: bool) -> dict:
        try:
            result = await self.session.run_method('event_log', live, self.filter.value or '', self.next, timeout=3)
        except TimeoutError:
            return {}
        return result if isinstance(result, dict) else {}

    async def refresh(self) -> None:
        if self.paused.value:
            return
        result = await self.fetch(live=True)
        entries = result.get('entries')
        for entry in entries[-MAX_LINES:] if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            n = entry.get('n')
            if isinstance(n, int) and not isinstance(n, bool) and n >= self.next:
                self.next = n + 1
            line = entry_line(entry)
            self.lines.append(line)
            self.log.push(line)
        total = result.get('total')
        if isinstance(total, int):
            self.count.text = f'{total} events recorded (the last {MAX_LINES} are kept here)'

    def copy(self) -> None:
        ui.clipboard.write('\n'.join(self.lines))
