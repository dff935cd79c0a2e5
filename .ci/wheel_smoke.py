"""Smoke test of an installed voice-ui wheel, run by .ci/run:

    python .ci/wheel_smoke.py VENV_PYTHON ASSET ...    (ASSET: each file under the clone's assets/, relative to it)

VENV_PYTHON is a fresh venv holding only the wheel and its declared dependencies. The app runs there, from a
temporary directory outside the clone; this script (in the test environment, with Playwright) only drives it.
It proves that the installed package (not a checkout) is what runs, that it carries every asset, that
`python -m voice_ui` starts with nothing but its declared dependencies, and that in Chromium the page, every JS
module and both AudioWorklets load: no HTTP error, no page error, no console error.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import re
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

WHERE_IS_VOICE_UI = 'import voice_ui; print(voice_ui.__file__); print(voice_ui.ASSETS)'

IMPORT_EVERY_MODULE_JS = """async ([modules, processors]) => {
  const base = JSON.parse(document.querySelector('script[type=importmap]').textContent).imports['voice-ui/'];
  for (const module of modules) await import(base + module);
  const { loadWorklets } = await import(base + 'audio/worklets.js');
  const context = new AudioContext();
  await loadWorklets(context);  // the app's own way: both worklets, URLs resolved as in a session
  for (const name of processors) new AudioWorkletNode(context, name);  // throws unless the worklet registered it
  return base;
}"""


def main(python: str, assets: list[str]) -> None:
    with tempfile.TemporaryDirectory() as cwd:  # no .env, no checkout beside it
        where = subprocess.run([python, '-c', WHERE_IS_VOICE_UI], cwd=cwd, capture_output=True, text=True,
                               check=True).stdout.splitlines()
        installed, asset_dir = Path(where[0]).resolve().parent, Path(where[1])
        assert 'site-packages' in installed.parts, f'voice_ui comes from {installed}, not from the installed wheel'
        assert asset_dir == installed / 'assets', f'assets found at {asset_dir}, not inside the package'
        missing = [name for name in assets if not (asset_dir / name).is_file()]
        assert not missing, f'the wheel lacks these assets: {missing}'
        print(f'voice_ui {installed} carries all {len(assets)} assets')
        serve_and_load(python, cwd, asset_dir, [name for name in assets if name.endswith('.js')])
    print('wheel smoke test passed')


def serve_and_load(python: str, cwd: str, asset_dir: Path, js_assets: list[str]) -> None:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    url = f'http://127.0.0.1:{port}'
    env = {k: v for k, v in os.environ.items() if not k.startswith(('OPENAI_', 'PYTEST', 'NICEGUI_'))}
    app = subprocess.Popen([python, '-m', 'voice_ui', '--port', str(port), '--no-browser'], cwd=cwd,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_http(url, app)
        check_in_chromium(url, asset_dir, js_assets)
    finally:
        app.terminate()
        output, _ = app.communicate(timeout=20)
        print(''.join(f'  app: {line}\n' for line in output.splitlines()), end='')


def wait_for_http(url: str, app: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise SystemExit(f'python -m voice_ui exited with {app.returncode}:\n{app.stdout.read()}')
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # polling a condition (the server answering), not a fixed wait
    raise SystemExit(f'python -m voice_ui did not answer on {url} within {timeout} s')


def check_in_chromium(url: str, asset_dir: Path, js_assets: list[str]) -> None:
    modules = [name for name in js_assets if not name.startswith('worklets/')]
    worklets = [name for name in js_assets if name.startswith('worklets/')]
    processors = [found for name in worklets for found in
                  re.findall(r"registerProcessor\('([^']+)'", (asset_dir / name).read_text(encoding='utf-8'))]
    assert len(processors) == len(worklets), f'expected one processor per worklet, found {processors}'
    # Worklet fetches are not reported as page responses; a processor that can be instantiated was loaded.
    failures, loaded = [], set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which('chromium'), headless=True,
                                             args=['--no-sandbox', '--autoplay-policy=no-user-gesture-required'])
        page = browser.new_page()
        page.on('response', lambda r: failures.append(f'HTTP {r.status} {r.url}') if r.status >= 400
                else loaded.add(r.url))
        page.on('pageerror', lambda error: failures.append(f'page error: {error}'))
        page.on('console', lambda m: failures.append(f'console {m.type}: {m.text}') if m.type == 'error' else None)
        page.goto(url, wait_until='networkidle')
        page.get_by_role('button', name='Start Speaking').wait_for(timeout=30_000)
        base = page.evaluate(IMPORT_EVERY_MODULE_JS, [modules, processors])
        browser.close()
    unloaded = [name for name in modules if not any(u.endswith(base + name) for u in loaded)]
    assert not failures, 'the page did not load cleanly:\n' + '\n'.join(failures)
    assert not unloaded, f'never loaded: {unloaded}'
    print(f'Chromium loaded the page, {len(modules)} JS modules and {len(worklets)} worklets '
          f'({", ".join(processors)}) from {base}')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
