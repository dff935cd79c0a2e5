"""The voice page in Firefox as a person uses it (buttons by their labels, the Message box), plus the component's
own counters (getStats, assets/session-stats.js), over Marionette."""
from __future__ import annotations

import json
import time

SETTLE_S = 60  # a reply with real speech models on 2 cores can take a while

# `esm(specifier)`: import() through the page's import map. A Marionette script is no module of the page, so a bare
# `voice-ui/...` would not be remapped; the mapped URL is the page's own, so the module instance is the same.
ESM_IMPORT_JS = '''
const imports = Object.assign({}, ...[...document.querySelectorAll('script[type=importmap]')]
  .map((script) => JSON.parse(script.textContent).imports || {}));
const esm = (specifier) => {
  const prefix = Object.keys(imports).find((p) => p.endsWith('/') && specifier.startsWith(p));
  const mapped = prefix ? imports[prefix] + specifier.slice(prefix.length) : (imports[specifier] || specifier);
  return import(new URL(mapped, location.href).href);
};
'''


class FirefoxVoicePage:
    def __init__(self, marionette) -> None:
        self.m = marionette

    def js(self, expression: str):
        """An expression evaluated in the page itself (not Marionette's sandbox: NiceGUI's getElement is needed)."""
        return self.m.execute_script(f'return {expression};', sandbox=None)

    def run_async(self, function: str, timeout_s: float = 30):
        """Awaits `function` (JS source of an async function of `esm`, see ESM_IMPORT_JS) in the page; its
        JSON-able result."""
        answer = self.m.execute_async_script(
            'const done = arguments[arguments.length - 1];' + ESM_IMPORT_JS +
            f'({function})(esm).then((r) => done(JSON.stringify({{ok: r}})),'
            ' (e) => done(JSON.stringify({error: String(e)})));',
            sandbox=None, script_timeout=int(timeout_s * 1000))
        result = json.loads(answer)
        assert 'error' not in result, result['error']
        return result['ok']

    def open(self, url: str) -> FirefoxVoicePage:
        self.m.navigate(url)
        self.wait_js('document.querySelector(".voice-ui-session") !== null', 30, 'the voice component')
        self.element_id = int(self.js('document.querySelector(".voice-ui-session").id').lstrip('c'))
        self.wait_js(f'typeof getElement({self.element_id}).getStats === "function"', 30, 'the component mounted')
        return self

    def stats(self) -> dict:
        # Through JSON: Marionette would otherwise walk the live objects' prototypes.
        return json.loads(self.js(f'JSON.stringify(getElement({self.element_id}).getStats())'))

    def wait_js(self, condition: str, timeout_s: float, what: str):
        deadline = time.monotonic() + timeout_s
        while not (value := self.js(condition)):
            if time.monotonic() > deadline:
                raise TimeoutError(f'{what} not met within {timeout_s} s ({condition})')
            time.sleep(0.05)
        return value

    def wait_for(self, condition: str, timeout_s: float = SETTLE_S) -> dict:
        """Waits until `condition` (an expression over `s`, the stats) holds; returns the stats."""
        self.wait_js(f'(() => {{ const s = getElement({self.element_id}).getStats(); return {condition}; }})()',
                     timeout_s, 'stats condition')
        return self.stats()

    def button(self, label: str):
        from marionette_driver.by import By
        return self.m.find_element(By.XPATH, f'//button[normalize-space(.)={json.dumps(label)}]'
                                             f' | //button[.//span[normalize-space(.)={json.dumps(label)}]]')

    def click(self, label: str) -> None:
        """A real click (Marionette dispatches trusted mouse events: a user activation, as a person's)."""
        self.button(label).click()

    def type_message(self, text: str) -> None:
        from marionette_driver.by import By
        from marionette_driver.keys import Keys
        box = self.m.find_element(By.CSS_SELECTOR, 'input[aria-label="Message"]')
        box.click()
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

    def texts(self, selector: str) -> list[str]:
        return self.js(f'[...document.querySelectorAll({json.dumps(selector)})].map((e) => e.innerText)')

    def wait_user_card_done(self, after: int, timeout_s: float = 60) -> None:
        """More than `after` user cards, the newest no longer live (its transcript is final)."""
        self.wait_js(f'document.querySelectorAll(".vu-turn-user .vu-text").length > {after}'
                     ' && [...document.querySelectorAll(".vu-turn-user .vu-live")].pop().getClientRects().length === 0',
                     timeout_s, "the user's card done")

    def cards(self, role: str) -> list[str]:
        return self.texts(f'.vu-turn-{role} .vu-text')
