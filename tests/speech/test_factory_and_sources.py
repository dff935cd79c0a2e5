"""default_agent() and model sources: the speech extra is optional, cheap to import, and configurable."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import run_python
from voice_ui.local_realtime.server_agent import EchoAgent, Message
from voice_ui.speech import SPEECH_HINT, default_agent, speech_available, speech_hint
from voice_ui.speech.brains import EchoBrain
from voice_ui.speech.models import ModelCache, ModelSource, load_piper, piper_source, whisper_source
from voice_ui.speech.wer import word_error_rate

from .test_speech_models import MAX_WER, assert_plausible_speech

HEAVY = ('faster_whisper', 'piper', 'ctranslate2', 'onnxruntime')


def python_c(code: str) -> str:
    done = run_python('-c', code)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_package_loads_no_speech_library():
    loaded = python_c(f'import sys, voice_ui.speech; print([m for m in {HEAVY!r} if m in sys.modules])')
    assert loaded == '[]'


def test_without_the_libraries_the_factory_falls_back_to_the_echo_agent():
    """`sys.modules[name] = None` makes `import name` raise ImportError, as if the package were absent."""
    out = python_c(
        "import sys; sys.modules['piper'] = None\n"
        "import voice_ui.speech as speech\n"
        "agent = speech.default_agent()\n"
        "print(type(agent).__name__, speech.speech_available(), speech.missing_speech_modules(), sep='|')\n"
        "print(speech.speech_hint())")
    status, hint = out.splitlines()
    assert status == "EchoAgent|False|('piper',)"
    assert hint == SPEECH_HINT and "pip install -e \".[speech]\"" in hint


def test_with_the_libraries_the_factory_gives_the_speech_agent(speech_ready):
    agent = default_agent()
    assert type(agent).__name__ == 'SpeechAgent' and not isinstance(agent, EchoAgent)
    assert speech_available() and speech_hint() is None
    assert 'tiny.en' in agent.description or 'whisper' in agent.description


def test_default_sources_prefer_the_bundled_wheels(speech_ready):
    whisper, piper = whisper_source({}), piper_source({})
    assert (whisper.origin, whisper.is_local, whisper.label) == ('bundled', True, 'tiny.en (bundled)')
    assert (piper.origin, piper.is_local, piper.label) == ('bundled', True, 'en_US-joe-medium (bundled)')
    assert whisper_source({'VOICE_UI_WHISPER_MODEL': 'base.en'}) == ModelSource('base.en', 'env')
    assert piper_source({'VOICE_UI_PIPER_VOICE': 'en_US-lessac-medium'}) == ModelSource('en_US-lessac-medium', 'env')


async def test_local_paths_and_voice_names_from_the_environment_load(speech_ready, utterances, tmp_path):
    """Copies of the bundled models (as symlinks) under other names, configured the way a person would."""
    bundled_whisper, bundled_piper = Path(whisper_source({}).value), Path(piper_source({}).value)
    (tmp_path / 'my-whisper').symlink_to(bundled_whisper, target_is_directory=True)
    voices = tmp_path / 'voices'
    voices.mkdir()
    for suffix in ('', '.json'):  # a voice name resolves to <data dir>/<name>.onnx(.json): no download needed
        (voices / f'en_US-joe-medium.onnx{suffix}').symlink_to(f'{bundled_piper}{suffix}')
    environ = {'VOICE_UI_WHISPER_MODEL': str(tmp_path / 'my-whisper'), 'VOICE_UI_PIPER_VOICE': 'en_US-joe-medium',
               'VOICE_UI_PIPER_DATA_DIR': str(voices)}

    from voice_ui.speech.agent import SpeechAgent
    cache = ModelCache()
    agent = SpeechAgent(brain=EchoBrain(), models=cache, environ=environ)
    assert agent.whisper_source.origin == agent.piper_source.origin == 'env'
    heard = await agent.transcribe(utterances[2].pcm24, 'en', None)
    assert word_error_rate(utterances[2].text, heard) <= MAX_WER, heard
    reply = await agent.respond([Message('user', heard)], utterances[2].pcm24)
    assert_plausible_speech(reply.audio, reply.text)
    assert cache.loads == 2


def test_a_missing_voice_file_is_reported_not_downloaded(speech_ready, tmp_path):
    with pytest.raises(FileNotFoundError, match='VOICE_UI_PIPER_VOICE'):
        load_piper(ModelSource(str(tmp_path / 'typo.onnx'), 'env'))
