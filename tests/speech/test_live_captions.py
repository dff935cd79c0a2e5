"""Recognition while the user speaks: pieces cut at pauses are decoded before the commit, the commit decodes
only what follows them, and over a real WebSocket the captions arrive as GA transcription deltas mid-speech."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tests.local_realtime.serving import API_KEY, MANUAL_SESSION, open_session, serve
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.protocol import ServerEvent
from voice_ui.speech.agent import SpeechAgent
from voice_ui.speech.brains import EchoBrain
from voice_ui.speech.live import MAX_ITEMS
from voice_ui.speech.models import ModelCache
from voice_ui.speech.wer import word_error_rate

from .test_speech_models import MAX_WER


def sound(ms: int) -> bytes:
    t = np.arange(ms * 24) / 24_000
    return (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype('<i2').tobytes()


def silence(ms: int) -> bytes:
    return bytes(ms * 48)


class CountingRecognizer:
    def __init__(self) -> None:
        self.decoded: list[int] = []  # bytes per decode

    def transcribe(self, pcm: bytes, language=None, prompt=None) -> str:
        self.decoded.append(len(pcm))
        return f'piece{len(self.decoded)}'


def agent_with(recognizer) -> SpeechAgent:
    agent = SpeechAgent(brain=EchoBrain(), models=ModelCache(), environ={'VOICE_UI_SPEECH_LIVE': '1'})
    agent._models._models[('whisper', agent.whisper_source.value)] = recognizer
    return agent


async def feed(agent: SpeechAgent, item_id: str, audio: bytes) -> list[str]:
    texts = []
    for start in range(0, len(audio), 4800):
        texts += await agent.hear(item_id, audio[start:start + 4800], 'en', None)
    return texts


async def test_pieces_decode_during_speech_and_the_commit_decodes_only_the_rest():
    recognizer = CountingRecognizer()
    agent = agent_with(recognizer)
    turn = silence(300) + sound(800) + silence(500) + sound(700) + silence(100)
    assert await feed(agent, 'item_a', turn) == ['piece1']  # the first pause closed a piece, decoded at once
    assert await agent.transcribe_item('item_a', turn, 'en', None) == 'piece1 piece2'
    assert len(recognizer.decoded) == 2
    assert recognizer.decoded[1] < len(sound(700) + silence(100)) + 300 * 48  # only the tail, not the turn


async def test_a_silent_tail_leaves_nothing_to_decode_at_commit():
    recognizer = CountingRecognizer()
    agent = agent_with(recognizer)
    turn = silence(200) + sound(900) + silence(600)
    assert await feed(agent, 'item_b', turn) == ['piece1']
    assert await agent.transcribe_item('item_b', turn, None, None) == 'piece1'
    assert len(recognizer.decoded) == 1


async def test_a_commit_that_differs_from_what_was_heard_is_decoded_whole():
    recognizer = CountingRecognizer()
    agent = agent_with(recognizer)
    heard = silence(200) + sound(900) + silence(600)
    await feed(agent, 'item_c', heard)
    other = sound(1000) + silence(100)  # e.g. a client that cleared and re-sent different audio
    assert await agent.transcribe_item('item_c', other, None, None) == 'piece2'
    assert recognizer.decoded[-1] == len(other)


async def test_items_never_committed_age_out():
    agent = agent_with(CountingRecognizer())
    for index in range(MAX_ITEMS + 20):
        await agent.hear(f'item_{index}', silence(100), None, None)
    assert len(agent.hearing.items) == MAX_ITEMS


@pytest.fixture(scope='module')
def live_server(speech_ready):
    agent = SpeechAgent(brain=EchoBrain(), environ={'VOICE_UI_SPEECH_LIVE': '1'})
    with serve(LocalRealtimeConfig(api_keys={API_KEY}, agent=agent,
                                   engine=EngineOptions(pacing=Pacing.BURST))) as served:
        yield served


@pytest.mark.parametrize('mode', ['manual', 'server_vad'])
async def test_captions_arrive_while_the_user_speaks(live_server, utterances, mode):
    weather = utterances[0]
    session = MANUAL_SESSION if mode == 'manual' else {
        **MANUAL_SESSION, 'audio': {'input': {**MANUAL_SESSION['audio']['input'], 'turn_detection': {
            'type': 'server_vad', 'silence_duration_ms': 1500, 'create_response': False}}}}
    client = await open_session(live_server.url, session)
    try:
        audio = silence(300) + weather.pcm24 + silence(400)  # a pause after speaking: a caption is due
        await client.append(audio)
        events = await client.until(ServerEvent.INPUT_TRANSCRIPTION_DELTA, timeout=60)
        assert not any(e['type'] == ServerEvent.INPUT_AUDIO_COMMITTED for e in events)  # before the commit
        item_id = events[-1]['item_id']
        if mode == 'server_vad':
            [started] = [e for e in events if e['type'] == ServerEvent.SPEECH_STARTED]
            assert started['item_id'] == item_id  # the item the client was told about
            await client.append(silence(1600))
        else:
            await client.send({'type': 'input_audio_buffer.commit'})
        events += await client.until(ServerEvent.INPUT_TRANSCRIPTION_COMPLETED, timeout=60)
        [committed] = [e for e in events if e['type'] == ServerEvent.INPUT_AUDIO_COMMITTED]
        assert committed['item_id'] == item_id
        completed = events[-1]
        assert completed['item_id'] == item_id
        assert word_error_rate(weather.text, completed['transcript']) <= MAX_WER, completed['transcript']
        deltas = [e['delta'] for e in events if e['type'] == ServerEvent.INPUT_TRANSCRIPTION_DELTA]
        assert ''.join(deltas) == completed['transcript']
    finally:
        await client.connection.close()
        await asyncio.sleep(0)
