"""The speech and chat variables are read like every other setting: the environment, then `.env`."""
from __future__ import annotations

from voice_ui.speech.brains import ChatCompletionsBrain, brain_from_env
from voice_ui.speech.models import piper_source, whisper_source


def test_speech_and_chat_variables_come_from_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ('VOICE_UI_WHISPER_MODEL', 'VOICE_UI_PIPER_VOICE', 'VOICE_UI_AGENT_CHAT_URL',
                 'VOICE_UI_AGENT_CHAT_MODEL'):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / '.env').write_text('VOICE_UI_WHISPER_MODEL=base.en\n'
                                   'export VOICE_UI_PIPER_VOICE="/voices/x.onnx"\n'
                                   "VOICE_UI_AGENT_CHAT_URL='http://localhost:11434/v1'  # Ollama\n"
                                   'VOICE_UI_AGENT_CHAT_MODEL=llama3.2\n')
    assert whisper_source().value == 'base.en' and whisper_source().origin == 'env'
    assert piper_source().value == '/voices/x.onnx'
    brain = brain_from_env()
    assert isinstance(brain, ChatCompletionsBrain) and brain.model == 'llama3.2'
    assert brain.base_url == 'http://localhost:11434/v1'


def test_the_environment_wins_over_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / '.env').write_text('VOICE_UI_WHISPER_MODEL=base.en\n')
    monkeypatch.setenv('VOICE_UI_WHISPER_MODEL', 'small.en')
    assert whisper_source().value == 'small.en'
