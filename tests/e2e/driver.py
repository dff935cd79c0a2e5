"""The voice page as a person uses it (buttons by their labels), plus the component's own counters."""
from __future__ import annotations

from dataclasses import dataclass

SETTLE_TIMEOUT_MS = 60_000  # a reply with real speech models on 2 cores can take a while


@dataclass
class TurnResult:
    stats: dict          # the component's getStats() after the reply finished playing
    sent: list[dict]     # Realtime client events of this turn, as captured from the wire


class VoicePage:
    def __init__(self, page, traffic) -> None:
        self.page = page
        self.traffic = traffic

    def open(self, url: str) -> VoicePage:
        self.page.goto(url)
        self.page.wait_for_selector('.voice-ui-session', state='attached')
        self.element_id = int(self.page.locator('.voice-ui-session').get_attribute('id').lstrip('c'))
        return self

    def stats(self) -> dict:
        return self.page.evaluate(f'getElement({self.element_id}).getStats()')

    def click(self, label: str) -> None:
        self.page.get_by_role('button', name=label).click()

    def wait_for(self, condition_js: str, timeout_ms: int = SETTLE_TIMEOUT_MS) -> dict:
        """Waits until `condition_js` (an expression over `s`, the stats) holds; returns the stats."""
        self.page.wait_for_function(f'(() => {{ const s = getElement({self.element_id}).getStats(); '
                                    f'return {condition_js}; }})()', timeout=timeout_ms, polling=50)
        return self.stats()

    def wait_status(self, *statuses: str, timeout_ms: int = SETTLE_TIMEOUT_MS) -> dict:
        return self.wait_for(' || '.join(f's.status === {status!r}' for status in statuses), timeout_ms)

    def start_speaking(self) -> dict:
        self.click('Start Speaking')
        return self.wait_status('listening', timeout_ms=20_000)

    def stop_speaking(self) -> None:
        self.click('Stop Speaking')

    def turn(self, hold_s: float) -> TurnResult:
        """Start, hold for `hold_s`, Stop, then wait until the reply has played and the status is idle again."""
        turns_before = self.stats()['turns']
        first_frame = len(self.traffic.frames)
        self.start_speaking()
        self.page.wait_for_timeout(hold_s * 1000)  # keeps Playwright dispatching frame events
        self.stop_speaking()
        self.wait_for(f's.turns > {turns_before}', timeout_ms=10_000)
        stats = self.wait_reply()
        return TurnResult(stats, self.traffic.realtime_sent(first_frame))

    def wait_reply(self) -> dict:
        """The reply to the last turn has finished playing (a newer playback report) and the status is idle."""
        return self.wait_for('s.status === "idle" && s.lastPlayback !== null && s.lastPlayback.at > s.turnStoppedAt')

    def cards(self, role: str) -> list[str]:
        return self.page.locator(f'.vu-turn-{role} .vu-text').all_inner_texts()
