"""Assertions shared by the e2e modules: wire conformance, audio delivery, playback."""
from __future__ import annotations

import base64

from tests.protocol_validation import validate_client_event
from voice_ui.protocol import BETA_SUBPROTOCOL, BYTES_PER_MS, SUBPROTOCOL, ClientEvent

MAX_APPEND_BYTES = 40 * BYTES_PER_MS
BETA_EVENT_NAMES = ('response.audio.delta', 'response.audio.done', 'response.audio_transcript.delta',
                    'response.text.delta')
BETA_SESSION_KEYS = ('modalities', 'voice', 'input_audio_format', 'output_audio_format', 'turn_detection',
                     'input_audio_transcription')  # the flat beta session


def assert_ga_client_events(sent: list[dict]) -> None:
    """Every client event is GA: validates against openai's RealtimeClientEvent, uses no beta name."""
    assert sent, 'the page sent no Realtime client events'
    assert sent[0]['type'] == ClientEvent.SESSION_UPDATE, f'first client event: {sent[0]["type"]}'
    for event in sent:
        assert event['type'] in set(ClientEvent), f'unknown client event {event["type"]}'
        validate_client_event(event)
        assert event['type'] not in BETA_EVENT_NAMES
    session = sent[0]['session']
    assert not set(BETA_SESSION_KEYS) & set(session), f'beta session keys: {sorted(session)}'
    assert session['type'] == 'realtime' and session['audio']['input']['turn_detection'] is None


def append_sizes(sent: list[dict]) -> list[int]:
    return [len(base64.b64decode(e['audio'])) for e in sent if e['type'] == ClientEvent.INPUT_AUDIO_APPEND]


def assert_appends_small(sent: list[dict]) -> None:
    sizes = append_sizes(sent)
    assert sizes, 'no audio was appended'
    assert max(sizes) <= MAX_APPEND_BYTES, f'an append carried {max(sizes) / BYTES_PER_MS} ms (> 40 ms)'
    assert all(size % 2 == 0 for size in sizes), 'PCM16 chunks must hold whole samples'


def assert_socket_handshake(log: dict) -> None:
    """The socket offered `realtime` + the token subprotocol (no beta one); the server accepted `realtime`."""
    assert log['token_subprotocol_present'], 'the ephemeral token was not offered as a subprotocol'
    assert log['subprotocols'] == [SUBPROTOCOL], log['subprotocols']
    assert BETA_SUBPROTOCOL not in log['subprotocols']
    assert log['accepted_subprotocol'] == SUBPROTOCOL
    assert not log['authorization_header_present']


def turns_on_server(log: dict) -> list[dict]:
    """Per committed turn: audio bytes appended before the commit, and the order of events around it."""
    turns, audio, appends_at = [], 0, []
    for event in log['client_events']:
        if event['type'] == ClientEvent.INPUT_AUDIO_APPEND:
            audio += event['audio_bytes']
            appends_at.append(event['received_at'])
        elif event['type'] in (ClientEvent.INPUT_AUDIO_COMMIT, ClientEvent.INPUT_AUDIO_CLEAR):
            turns.append({'type': event['type'], 'audio_bytes': audio, 'appends': len(appends_at),
                          'last_append_at': max(appends_at, default=None), 'at': event['received_at']})
            audio, appends_at = 0, []
    return turns


def speaking_span_ms(stats: dict) -> float:
    """How long the last `speaking` status lasted (until the next status), from the component's status log."""
    log = stats['statusLog']
    starts = [i for i, entry in enumerate(log) if entry['status'] == 'speaking']
    assert starts, f'never reported speaking: {[e["status"] for e in log]}'
    i = starts[-1]
    assert i + 1 < len(log), 'still speaking'
    return log[i + 1]['t'] - log[i]['t']


def assert_played_fully(stats: dict) -> dict:
    """All reply audio received was played; the speaking status lasted at least as long as that audio."""
    playback = stats['lastPlayback']
    received = playback['frames_received']
    assert received > 0, 'no reply audio arrived'
    assert not playback['flushed'], 'the reply was flushed instead of played'
    assert playback['frames_played'] == received, (playback, received)
    audio_ms = received / 24
    span = speaking_span_ms(stats)
    # `speaking` starts at the first delta and playback after a 120 ms pre-roll: it may not end before the audio did.
    assert span >= audio_ms - 30, f'speaking ended after {span:.0f} ms but the reply lasts {audio_ms:.0f} ms'
    return {'audio_ms': audio_ms, 'speaking_ms': span, 'underruns': playback['underruns']}

