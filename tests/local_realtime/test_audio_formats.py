"""G.711 μ-law / A-law in and out, and server_vad's idle timeout, on the sans-I/O engine."""
from __future__ import annotations

import base64
import warnings

import numpy as np
import pytest

from voice_ui.local_realtime.g711 import PCMA, PCMU, decoder, encoder, g711_decode, g711_encode
from voice_ui.local_realtime.server_config import EngineOptions, Pacing
from voice_ui.protocol import BYTES_PER_MS, ServerEvent

from .test_engine import Harness, tone
from .test_items import create, text_item

# ITU-T G.711 reference points: (PCM16 sample, μ-law byte, A-law byte)
REFERENCE = [(0, 0xFF, 0xD5), (-1, 0x7E, 0x55), (32767, 0x80, 0xAA), (-32768, 0x00, 0x2A), (1000, 0xCE, 0xFA)]


def audioop_module():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        try:
            import audioop  # gone in Python 3.13: the reference points above still check the tables there
        except ImportError:
            return None
        return audioop


@pytest.mark.parametrize('fmt', [PCMU, PCMA])
def test_g711_tables_match_the_reference_codec(fmt):
    every_sample = np.arange(-32768, 32768, dtype='<i2').tobytes()
    column = 1 if fmt == PCMU else 2
    for sample, *codes in REFERENCE:
        assert g711_encode(np.array([sample], '<i2').tobytes(), fmt) == bytes([codes[column - 1]])
    reference = audioop_module()
    if reference is not None:
        encode, decode = (reference.lin2ulaw, reference.ulaw2lin) if fmt == PCMU else \
            (reference.lin2alaw, reference.alaw2lin)
        assert g711_encode(every_sample, fmt) == encode(every_sample, 2)
        assert g711_decode(bytes(range(256)), fmt) == decode(bytes(range(256)), 2)
    roundtrip = np.frombuffer(g711_decode(g711_encode(every_sample, fmt), fmt), '<i2').astype(int)
    original = np.arange(-32768, 32768)
    assert np.all(np.abs(roundtrip - original) <= np.maximum(16, np.abs(original) // 15))  # log companding


@pytest.mark.parametrize('fmt', [PCMU, PCMA])
def test_telephony_audio_in_is_heard_as_24k_pcm(fmt):
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {
        'input': {'format': {'type': fmt}, 'turn_detection': {'type': 'server_vad'}}}}})
    assert harness.engine.session['audio']['input']['format'] == {'type': fmt}
    speech = encoder({'type': fmt})(tone(600) + b'\0\0' * 24 * 900)  # what a phone line sends: 8 kHz G.711
    assert len(speech) == 1500 * 8
    harness.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(speech).decode()})
    assert [e['type'] for _, e in harness.sent].count('input_audio_buffer.speech_started') == 1
    [(_, stopped)] = harness.of_type(ServerEvent.SPEECH_STOPPED)
    user = harness.engine.conversation.items[0]
    assert abs(len(user.audio) / BYTES_PER_MS - (stopped['audio_end_ms'] - 300 + 0)) <= 320  # 24 kHz PCM16 inside
    assert harness.of_type(ServerEvent.RESPONSE_DONE)


def test_telephony_audio_out_decodes_to_the_reply():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {
        'output': {'format': {'type': PCMA}}}}})
    played_back = tone(1000)
    harness.manual_turn(played_back)
    wire = b''.join(base64.b64decode(e['delta']) for _, e in harness.of_type(ServerEvent.OUTPUT_AUDIO_DELTA))
    assert len(wire) == 8000  # one second at 8 kHz, one byte per sample
    heard = np.frombuffer(decoder({'type': PCMA})(wire), '<i2').astype(float)
    sent = np.frombuffer(played_back, '<i2').astype(float)
    assert np.corrcoef(heard[100:-100], sent[100:-100])[0, 1] > 0.99
    done = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']
    assert done['audio']['output']['format'] == {'type': PCMA}


def test_unsupported_formats_are_refused():
    harness = Harness()
    for fmt, param in [({'type': 'audio/pcm', 'rate': 16000}, 'session.audio.input.format'),
                       ({'type': 'audio/pcmu', 'rate': 24000}, 'session.audio.input.format'),
                       ({'type': 'audio/opus'}, 'session.audio.input.format')]:
        harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {'input': {'format': fmt}}}})
        assert harness.sent[-1][1]['error']['param'] == param


def idle_harness(timeout_ms: int = 5000, **turn: object) -> Harness:  # 5000: the service's minimum
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'output_modalities': ['text'], 'audio': {
        'input': {'turn_detection': {'type': 'server_vad', 'idle_timeout_ms': timeout_ms, **turn}}}}})
    return harness


def test_idle_timeout_triggers_after_the_last_response_then_commits_and_answers():
    harness = idle_harness()
    create(harness, text_item('hello'))
    harness.send({'type': 'response.create'})  # ends at t=0: the timer runs from there
    harness.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(b'\0\0' * 24 * 4900).decode()})
    harness.advance_to(4.9)
    assert not harness.of_type(ServerEvent.TIMEOUT_TRIGGERED)
    harness.advance_to(5.1)
    [(at, triggered)] = harness.of_type(ServerEvent.TIMEOUT_TRIGGERED)
    assert at == pytest.approx(5.0)
    assert triggered['audio_end_ms'] == 4900 and triggered['audio_start_ms'] == 0
    types = [e['type'] for t, e in harness.sent if t >= 5.0]
    assert types[:3] == ['input_audio_buffer.timeout_triggered', 'input_audio_buffer.committed',
                         'conversation.item.added']
    assert harness.engine.conversation.items[-2].id == triggered['item_id']
    assert 'response.created' in types and 'response.done' in types  # (the harness runs work inline)
    harness.advance_to(10.3)  # the answer ended at 5.0: it is armed again
    assert len(harness.of_type(ServerEvent.TIMEOUT_TRIGGERED)) == 2


def test_speech_disarms_the_idle_timeout_and_no_timeout_means_none():
    harness = idle_harness(create_response=False)
    create(harness, text_item('hello'))
    harness.send({'type': 'response.create'})
    harness.advance_to(1.0)
    harness.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(tone(400)).decode()})
    assert harness.of_type(ServerEvent.SPEECH_STARTED)
    harness.advance_to(20)
    assert not harness.of_type(ServerEvent.TIMEOUT_TRIGGERED)
    quiet = Harness(EngineOptions(pacing=Pacing.BURST))  # manual turns: no idle timeout at all
    create(quiet, text_item('hello'))
    quiet.send({'type': 'response.create'})
    quiet.advance_to(3600 - 1)
    assert not quiet.of_type(ServerEvent.TIMEOUT_TRIGGERED)


def test_barge_in_does_not_arm_the_idle_timeout_while_the_person_speaks():
    harness = Harness(EngineOptions(pacing=Pacing.REALTIME))
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {
        'input': {'turn_detection': {'type': 'server_vad', 'idle_timeout_ms': 5000}}}}})
    harness.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(tone(600) + bytes(48 * 700)).decode()})
    harness.advance_to(0.5)  # a long echo reply is playing
    harness.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(tone(400)).decode()})
    assert harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']['status'] == 'cancelled'
    harness.advance_to(12)  # still speaking (no silence yet): no timeout may cut the turn
    assert not harness.of_type(ServerEvent.TIMEOUT_TRIGGERED)
    harness.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(bytes(48 * 700)).decode()})
    assert len(harness.of_type(ServerEvent.SPEECH_STOPPED)) == 2
