"""Debian's Firefox ESR, headless, driven over its built-in Marionette protocol (Playwright's own Firefox build
cannot be downloaded here), with a private PulseAudio server as its sound card: a null sink to play into and a
microphone that hears the test recordings.

Why PulseAudio: Firefox's Linux audio goes through PulseAudio. With no sound server an AudioContext's resume()
never settles (cubeb cannot open an output stream), so no worklet would ever run; a null sink is a real-time
clocked output that discards the sound. The microphone is real too, not Firefox's fake one (a tone): a second,
mono null sink whose monitor is the default source, so whatever `speak()` plays into that sink is what the page's
getUserMedia captures, through Firefox's real capture path (device, resampling, echo cancellation, gain control).
It is silent while nothing plays. The server is private (its own socket under a temporary folder) so that nothing
on the machine is touched and tests do not share it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support import OUTPUT, wait_until

from .page_log import PageLog

INSTALL_HINT = ('firefox-esr, pulseaudio or paplay not installed: '
                'apt-get install firefox-esr pulseaudio pulseaudio-utils')
DRIVER_HINT = 'marionette_driver not installed: pip install -e ".[test]"'

# user.js: the microphone without a permission prompt (a test may switch the prompt back on and answer it, see
# `Firefox.set_microphone_permission`), audio allowed without a gesture check, page console messages also on
# stdout (test-output/firefox-<rate>.log, for a post-mortem), and no traffic off this machine: background services
# off, and everything else sent to a dead proxy on a closed local port (Firefox never proxies loopback, where the
# app is).
PREFS = {
    'media.navigator.permission.disabled': True,
    'media.autoplay.default': 0,               # 0: allow audible autoplay
    'media.autoplay.blocking_policy': 0,
    'media.autoplay.block-webaudio': False,
    'devtools.console.stdout.content': True,
    'browser.shell.checkDefaultBrowser': False,
    'browser.startup.homepage_override.mstone': 'ignore',
    'browser.startup.page': 0,
    'browser.newtabpage.enabled': False,
    'browser.safebrowsing.malware.enabled': False,
    'browser.safebrowsing.phishing.enabled': False,
    'browser.safebrowsing.downloads.enabled': False,
    'browser.safebrowsing.update.enabled': False,
    'app.update.disabledForTesting': True,
    'app.normandy.enabled': False,
    'messaging-system.rsexperimentloader.enabled': False,
    'datareporting.policy.dataSubmissionEnabled': False,
    'datareporting.healthreport.uploadEnabled': False,
    'toolkit.telemetry.reportingpolicy.firstRun': False,
    'network.captive-portal-service.enabled': False,
    'network.connectivity-service.enabled': False,
    'extensions.update.enabled': False,
    'services.settings.server': 'http://127.0.0.1:9/',
    'dom.push.connection.enabled': False,
    'network.trr.mode': 5,                     # no DNS over HTTPS
    'network.dns.disablePrefetch': True,
    'network.prefetch-next': False,
    'network.http.speculative-parallel-limit': 0,
    'geo.provider.network.url': '',
    'browser.region.update.enabled': False,
    'extensions.getAddons.cache.enabled': False,
    'extensions.blocklist.enabled': False,
    'toolkit.telemetry.enabled': False,
    'network.proxy.type': 1,                   # manual proxy: the closed port below
    'network.proxy.http': '127.0.0.1',
    'network.proxy.http_port': 9,
    'network.proxy.ssl': '127.0.0.1',
    'network.proxy.ssl_port': 9,
    'network.proxy.allow_hijacking_localhost': False,
}


def firefox_path() -> str | None:
    return shutil.which('firefox-esr') or shutil.which('firefox')


def pulseaudio_path() -> str | None:
    return shutil.which('pulseaudio')


def paplay_path() -> str | None:
    return shutil.which('paplay')  # pulseaudio-utils


MIC_SINK = 'voice_ui_mic'      # what `speak` plays into; its monitor is the default source: the microphone
OUTPUT_SINK = 'voice_ui_null'  # the default sink: where the page's audio goes


class PrivatePulseAudio:
    """A PulseAudio daemon of our own: two null sinks (the output, the microphone's), one anonymous unix socket,
    no D-Bus, no saved state. Both run at `rate`, as a real sound card's input and output share a clock and rate."""

    def __init__(self, folder: Path, rate: int) -> None:
        self.socket = folder / 'pulse.sock'
        self.server, self.rate = f'unix:{self.socket}', rate
        OUTPUT.mkdir(exist_ok=True)
        self.log_path = OUTPUT / f'firefox-pulseaudio-{rate}.log'
        self._log = self.log_path.open('w')
        env = {**os.environ, 'HOME': str(folder), 'XDG_RUNTIME_DIR': str(folder)}
        self.client_env = {**env, 'PULSE_SERVER': self.server}  # paplay's: this server, never the machine's
        script = folder / 'voice-ui.pa'  # a startup script: only it can name the default source
        script.write_text(
            f'load-module module-native-protocol-unix socket={self.socket} auth-anonymous=1\n'
            f'load-module module-null-sink sink_name={OUTPUT_SINK} rate={rate}\n'
            f'load-module module-null-sink sink_name={MIC_SINK} rate={rate} channels=1'
            ' sink_properties=device.description=Test-microphone\n'
            f'set-default-sink {OUTPUT_SINK}\n'
            f'set-default-source {MIC_SINK}.monitor\n')
        self.process = subprocess.Popen(
            [pulseaudio_path(), '-n', '--daemonize=no', '--exit-idle-time=-1', '--use-pid-file=no',
             '--disable-shm=yes', '-F', str(script)], env=env, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.socket.exists() or self.process.poll() is not None, 20, 'PulseAudio socket')
        if self.process.poll() is not None:
            raise RuntimeError(f'PulseAudio exited: {self.log_path.read_text()}')

    def speak(self, wav: Path, timeout_s: float = 60) -> None:
        """Plays `wav` into the microphone and returns once all of it has come out of the microphone (paplay
        drains the stream: the sink, clocked in real time, has consumed every frame)."""
        assert wav.is_file(), f'test speech missing: {wav}'
        played = subprocess.run([paplay_path(), f'--device={MIC_SINK}', str(wav)], env=self.client_env,
                                capture_output=True, text=True, timeout=timeout_s)
        assert played.returncode == 0, f'paplay failed ({played.returncode}): {played.stderr}'

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


class Firefox:
    """One headless Firefox with a fresh profile, its stdout in test-output/<name>.log, a Marionette session and
    that session's BiDi socket for the pages' log (`page_log`)."""

    def __init__(self, binary: str, pulse_server: str, folder: Path, name: str) -> None:
        from marionette_driver.marionette import Marionette
        self.profile = folder / 'profile'
        self.profile.mkdir()
        prefs = {**PREFS, 'marionette.port': 0}  # 0: a free port, written to MarionetteActivePort (no race)
        (self.profile / 'user.js').write_text(
            ''.join(f'user_pref({json.dumps(pref)}, {json.dumps(value)});\n' for pref, value in prefs.items()))
        self.log_path = OUTPUT / f'{name}.log'
        self._log = self.log_path.open('w')
        env = {**os.environ, 'PULSE_SERVER': pulse_server, 'HOME': str(folder), 'MOZ_CRASHREPORTER_DISABLE': '1'}
        # The remote agent (port 0: any free one) serves the session's BiDi socket; system access lets Marionette
        # script the browser itself (its permissions, `set_microphone_permission`), not only pages.
        self.process = subprocess.Popen(
            [binary, '-marionette', '-headless', '-no-remote', '-profile', str(self.profile),
             '--remote-debugging-port', '0', '-remote-allow-system-access'],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)
        active_port = self.profile / 'MarionetteActivePort'
        wait_until(lambda: active_port.is_file() and active_port.read_text().strip().isdigit()
                   or self.process.poll() is not None, 60, 'Marionette listening')
        if self.process.poll() is not None:
            raise RuntimeError(f'Firefox exited with {self.process.returncode}:\n{self.log()[-3000:]}')
        self.marionette = Marionette(host='127.0.0.1', port=int(active_port.read_text()))
        # webSocketUrl: the same session over WebDriver BiDi too (a second, BiDi-only session would be refused).
        self.marionette.start_session(capabilities={'webSocketUrl': True})
        self.version = self.marionette.session_capabilities['browserVersion']
        self.page_log = PageLog(self.marionette.session_capabilities['webSocketUrl'])

    def set_microphone_permission(self, origin: str, allowed: bool) -> None:
        """What a person's remembered answer to the microphone prompt does for `origin`: the prompt is back on
        (PREFS start without one) and the answer is the site's stored permission, so getUserMedia asks no one."""
        with self.marionette.using_context('chrome'):
            self.marionette.execute_script('''
                const [origin, allowed] = arguments;
                const site = Services.scriptSecurityManager.createContentPrincipalFromOrigin(origin);
                Services.prefs.setBoolPref('media.navigator.permission.disabled', false);
                Services.perms.addFromPrincipal(site, 'microphone',
                    allowed ? Services.perms.ALLOW_ACTION : Services.perms.DENY_ACTION);''',
                script_args=[origin, allowed])

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors='replace')

    def close(self) -> None:
        self.page_log.close()
        try:
            self.marionette.delete_session()
        except Exception:  # a crashed browser has no session left to end
            pass
        stop_process(self.process)
        self._log.close()


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class FirefoxWithAudio:
    """A private PulseAudio and a Firefox playing into it, in one temporary folder removed afterwards. The sink's
    `device_rate` becomes the AudioContext's."""

    def __init__(self, binary: str, device_rate: int = 48000) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix='voice-ui-firefox-')
        folder = Path(self._folder.name)
        self.pulse = PrivatePulseAudio(folder, device_rate)
        try:
            self.browser = Firefox(binary, self.pulse.server, folder, f'firefox-{device_rate}')
        except BaseException:
            self.pulse.stop()
            raise

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            self.pulse.stop()
            self._folder.cleanup()
