"""Issue 4, part 2: the production path. The embedded server runs standalone (as OpenAI would, elsewhere) and the
app gets only `OPENAI_BASE_URL` + `OPENAI_API_KEY`. The server sends replies in bursts (as fast as it can).

The standalone server's default agent echoes the person's audio, so the reply must be exactly what was sent.
"""
from __future__ import annotations

import secrets

import pytest

from tests.support import manifest
from voice_ui.protocol import BYTES_PER_MS, ClientEvent

from .checks import (append_sizes, assert_appends_small, assert_ga_client_events, assert_played_fully,
                     assert_socket_handshake, turns_on_server)
from .conftest import running_app, running_realtime_server, voice_page
from .harness import LocalServerControl

API_KEY = 'sk-e2e-' + secrets.token_urlsafe(24)
UTTERANCE = manifest()['lights']
UTTERANCE_S = UTTERANCE['mic_leading_silence_s'] + UTTERANCE['speech_seconds'] + UTTERANCE['mic_trailing_silence_s']


@pytest.fixture(scope='module')
def realtime_server():
    with running_realtime_server('local-realtime', API_KEY, '--pacing', 'burst', '--agent', 'echo') as server:
        yield server


@pytest.fixture(scope='module')
def app(realtime_server):
    with running_app('app-openai-path', env={'OPENAI_BASE_URL': realtime_server.url + '/v1',
                                             'OPENAI_API_KEY': API_KEY}) as app:
        yield app


@pytest.fixture(scope='module')
def voice(playwright, chromium, app):
    with voice_page(playwright, chromium, 'lights', app.url) as voice:
        yield voice


def test_burst_reply_plays_gaplessly_and_fully(voice, realtime_server):
    control = LocalServerControl(realtime_server.url)
    result = voice.turn(UTTERANCE_S + 0.3)
    stats = result.stats

    [log] = control.sessions()
    assert_socket_handshake(log)
    assert voice.traffic.realtime_sockets()[0].url.startswith(realtime_server.url.replace('http', 'ws'))
    sent = voice.traffic.realtime_sent()
    assert_ga_client_events(sent)
    assert_appends_small(sent)
    [turn] = turns_on_server(log)
    assert turn['type'] == ClientEvent.INPUT_AUDIO_COMMIT
    assert turn['audio_bytes'] == sum(append_sizes(sent)) == round(stats['turnMs'] * BYTES_PER_MS)
    assert stats['turnCapturedMs'] == stats['turnMs']
    assert turn['audio_bytes'] / BYTES_PER_MS >= 0.95 * UTTERANCE_S * 1000

    played = assert_played_fully(stats)
    assert played['underruns'] == 0, played  # the whole reply came in a burst: any gap is the client's fault
    # The echo agent speaks back exactly the committed audio: every sample of it came back and was played.
    assert stats['lastPlayback']['frames_played'] * 2 == turn['audio_bytes']
    print(f'\nburst reply: {played}')


def test_api_key_never_reaches_the_page(voice):
    voice.page.reload()  # the page HTML and NiceGUI's socket.io traffic once more, after a full turn
    voice.page.wait_for_selector('.voice-ui-session', state='attached')
    voice.page.wait_for_timeout(500)
    traffic = voice.traffic
    assert traffic.realtime_sent(), 'no Realtime traffic was captured'
    assert any('socket.io' in frame.url for frame in traffic.frames), 'no NiceGUI socket.io frames were captured'
    scanned = [r for r in traffic.responses if traffic.body(r) is not None]
    assert any(r.url.rstrip('/') == voice.page.url.rstrip('/') for r in scanned), 'the page HTML was not scanned'
    assert traffic.find('Start Speaking'), 'the scanner itself is broken: it misses the button label'
    assert traffic.find(API_KEY) == []
    assert traffic.find(API_KEY[7:]) == []  # not even without its prefix
