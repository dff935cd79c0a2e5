"""A speech model that cannot load (a hub name while offline, a missing file) is said everywhere it matters: in
the agent's description (the page header), in the turn's `transcription.failed`, and in the spoken/written reply
— never a silent "Sorry, I did not catch that"."""
from __future__ import annotations

import pytest

from tests.local_realtime.serving import API_KEY, open_session, serve
from voice_ui.local_realtime.server_agent import Message
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.protocol import ClientEvent, ServerEvent
from voice_ui.speech.brains import NOTHING_HEARD, EchoBrain
from voice_ui.speech.models import ModelCache, ModelSource, whisper_source

OFFLINE_HUB_MODEL = ModelSource('base.en', 'env')  # VOICE_UI_WHISPER_MODEL=base.en on a machine without the hub


@pytest.fixture
def offline(monkeypatch):
    """No Hugging Face hub: huggingface_hub then fails at once instead of trying the network."""
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')


@pytest.fixture
def deaf_agent(speech_ready, offline):
    from voice_ui.speech.agent import SpeechAgent
    return SpeechAgent(brain=EchoBrain(), whisper=OFFLINE_HUB_MODEL, models=ModelCache())


def test_a_failed_load_is_said_once_with_what_to_do(deaf_agent, caplog):
    [problem] = deaf_agent.load()
    assert "whisper 'base.en'" in problem and 'did not load' in problem and 'VOICE_UI_WHISPER_MODEL' in problem
    assert 'not on local disk' in problem
    deaf_agent.load()  # not retried, not logged again
    assert sum('did not load' in record.getMessage() for record in caplog.records) == 1


def test_the_header_never_advertises_a_model_that_failed(deaf_agent):
    assert deaf_agent.description.startswith('offline speech:')  # nothing tried yet
    deaf_agent.load()
    assert deaf_agent.description.startswith('offline speech unavailable:'), deaf_agent.description
    assert 'did not load' in deaf_agent.description and 'replies:' not in deaf_agent.description


async def test_a_spoken_turn_says_why_instead_of_not_catching_it(deaf_agent, utterances):
    deaf_agent.load()
    with serve(LocalRealtimeConfig(api_keys={API_KEY}, agent=deaf_agent,
                                   engine=EngineOptions(pacing=Pacing.BURST))) as served:
        client = await open_session(served.url)
        try:
            await client.append(utterances[0].pcm24)
            await client.send({'type': ClientEvent.INPUT_AUDIO_COMMIT.value})
            await client.send({'type': ClientEvent.RESPONSE_CREATE.value})
            events = await client.until(ServerEvent.RESPONSE_DONE, timeout=60)
        finally:
            await client.connection.close()
    [failed] = [e for e in events if e['type'] == ServerEvent.INPUT_TRANSCRIPTION_FAILED]
    assert 'did not load' in failed['error']['message'] and 'VOICE_UI_WHISPER_MODEL' in failed['error']['message']
    [said] = [e for e in events if e['type'] == ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE]
    assert said['transcript'].startswith('I cannot hear you:') and NOTHING_HEARD not in said['transcript']
    assert any(e['type'] == ServerEvent.OUTPUT_AUDIO_DELTA for e in events), 'the voice still works: say it aloud'


async def test_without_a_voice_the_reply_still_arrives_as_text(speech_ready, offline, tmp_path):
    from voice_ui.speech.agent import SpeechAgent
    agent = SpeechAgent(brain=EchoBrain(), whisper=whisper_source(),
                        piper=ModelSource(str(tmp_path / 'missing.onnx'), 'env'), models=ModelCache())
    reply = await agent.respond([Message('user', 'hello')], b'')
    assert reply.text.startswith('You said: hello') and 'No voice' in reply.text and 'did not load' in reply.text
    assert reply.audio == b''
    assert "piper voice" in agent.description and 'did not load' in agent.description
