"""Offline speech for the embedded server (the `speech` extra): faster-whisper recognition, piper synthesis.

Importing this package is cheap: the heavy libraries load only when `default_agent()` checks for them or a
`SpeechAgent` first needs its models.
"""
from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING

from ..local_realtime.server_agent import SPEECH_EXTRA_HINT, Agent, EchoAgent

if TYPE_CHECKING:
    from .agent import SpeechAgent

SPEECH_MODULES = ('faster_whisper', 'piper')  # import names of the faster-whisper and piper-tts packages
SPEECH_HINT = f'Install the speech extra for real speech: {SPEECH_EXTRA_HINT}'

__all__ = ['SPEECH_HINT', 'SpeechAgent', 'default_agent', 'missing_speech_modules', 'speech_available', 'speech_hint']


@functools.cache
def missing_speech_modules() -> tuple[str, ...]:
    """The speech libraries that fail to import (empty when real speech works). Checked once per process."""
    missing = []
    for name in SPEECH_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # ImportError, or a broken native dependency (onnxruntime, ctranslate2)
            missing.append(name)
    return tuple(missing)


def speech_available() -> bool:
    return not missing_speech_modules()


def speech_hint() -> str | None:
    """One line for the page when speech is not available, else None."""
    return None if speech_available() else SPEECH_HINT


def default_agent() -> Agent:
    """The SpeechAgent when the speech extra is installed, else the EchoAgent. Models load on first use;
    call `await agent.warm_up()` (SpeechAgent only) to load them at startup instead."""
    if not speech_available():
        return EchoAgent()
    from .agent import SpeechAgent
    return SpeechAgent()


def __getattr__(name: str):  # `from voice_ui.speech import SpeechAgent` without importing it eagerly
    if name == 'SpeechAgent':
        from .agent import SpeechAgent
        return SpeechAgent
    raise AttributeError(name)
