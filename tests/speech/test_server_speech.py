"""The embedded server with the SpeechAgent, over a real WebSocket: every event is validated against GA types."""
from __future__ import annotations

import base64

import pytest

from tests.local_realtime.serving import API_KEY, open_session, serve
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.protocol import ClientEvent, ServerEvent
from voice_ui.speech.wer import word_error_rate

from .test_speech_models import MAX_WER, assert_plausible_speech


@pytest.fixture(scope='module')
def speech_server(speech_ready):
    from voice_ui.speech import default_agent
    agent = default_agent()
    assert type(agent).__name__ == 'SpeechAgent'
    with serve(LocalRealtimeConfig(api_keys={API_KEY}, agent=agent,
                                   engine=EngineOptions(pacing=Pacing.BURST))) as served:
        yield served


async def test_spoken_turn_is_heard_and_answered_aloud(speech_server, utterances):
    weather = utterances[0]
    client = await open_session(speech_server.url)
    try:
        await client.append(weather.pcm24)
        await client.send({'type': ClientEvent.INPUT_AUDIO_COMMIT.value})
        await client.send({'type': ClientEvent.RESPONSE_CREATE.value})  # as the page does on Stop
        events = await client.until(ServerEvent.RESPONSE_DONE, timeout=60)
    finally:
        await client.connection.close()

    def of(kind: ServerEvent) -> list[dict]:
        return [event for event in events if event['type'] == kind]

    [completed] = of(ServerEvent.INPUT_TRANSCRIPTION_COMPLETED)
    heard = completed['transcript']
    assert word_error_rate(weather.text, heard) <= MAX_WER, heard
    assert ''.join(delta['delta'] for delta in of(ServerEvent.INPUT_TRANSCRIPTION_DELTA)) == heard

    [said] = of(ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE)
    assert said['transcript'] == f'You said: {heard}'
    assert ''.join(delta['delta'] for delta in of(ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DELTA)) == said['transcript']
    audio = b''.join(base64.b64decode(delta['delta']) for delta in of(ServerEvent.OUTPUT_AUDIO_DELTA))
    assert_plausible_speech(audio, said['transcript'])
    assert of(ServerEvent.RESPONSE_DONE)[0]['response']['status'] == 'completed'
