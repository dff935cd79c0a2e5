"""The end-of-turn model behind `semantic_vad`: smart-turn v3.2, which hears whether a turn sounds finished.

The model (an 8.7 MB ONNX file, BSD-2-Clause, by Daily) ships inside the `pipecat-ai` wheel, which the `turn`
extra installs; nothing is downloaded at run time. Only two of the wheel's files are used, found through
`importlib.util.find_spec` and never imported as pipecat: the model, and `_whisper_features.py`, the numpy-only
Whisper log-mel features it was trained with (loaded from its file, so pipecat's package code, its logging and
its import-time work stay out of the server). pipecat-ai brings onnxruntime and soxr, which do the rest;
threadpoolctl keeps the features' matrix product on one BLAS thread.

What the model is given is what pipecat gives it (`LocalSmartTurnAnalyzerV3`): the last 8 s of the turn at
16 kHz, zero-padded on the left, as 80 x 800 normalised log-mel features; it answers the probability that the
turn is complete (> 0.5: complete). That costs ~10 ms for the features and ~110-130 ms for the inference on
one core here, so it always runs in a worker (`ScoreTurn`), never on the event loop. One inference session per
process is shared (`run` is thread-safe) with one intra-op thread: a judgement never takes both cores.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..pcm import pcm16_to_float
from ..protocol import SAMPLE_RATE

log = logging.getLogger(__name__)
MODEL_RATE = 16_000
WINDOW_S = 8                        # the model hears the last 8 s of a turn (what it was trained on)
COMPLETE_ABOVE = 0.5                # the model's own decision threshold
MODEL_FILE = ('audio', 'turn', 'smart_turn', 'data', 'smart-turn-v3.2-cpu.onnx')
FEATURES_FILE = ('audio', 'turn', 'smart_turn', '_whisper_features.py')
TURN_MODEL_ENV = 'VOICE_UI_TURN_MODEL'
TURN_MODELS = ('auto', 'smart-turn', 'none')
INSTALL_HINT = 'pip install "voice-ui[turn]" (pipecat-ai, which ships the model)'


def pipecat_file(parts: tuple[str, ...]) -> pathlib.Path | None:
    """A file inside the installed pipecat-ai package, found without importing pipecat (or None)."""
    try:
        spec = importlib.util.find_spec('pipecat')
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = pathlib.Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


@functools.cache
def unavailable_reason() -> str | None:
    """Why the end-of-turn model cannot run here (None: it can). Checked once per process: the model is
    loaded and judges one second of silence, so a broken install is found at start-up, not in a session."""
    if pipecat_file(MODEL_FILE) is None or pipecat_file(FEATURES_FILE) is None:
        return f'the smart-turn v3.2 model is not installed: {INSTALL_HINT}'
    try:
        turn_probability(b'\0\0' * SAMPLE_RATE)
    except Exception as exc:  # onnxruntime or soxr missing or broken, a changed feature module, a bad file
        return f'the smart-turn v3.2 model failed to load: {type(exc).__name__}: {str(exc)[:200]}'
    return None


def choose_turn_model(requested: str, agent: object, environ: Mapping[str, str] | None = None) -> str:
    """'smart-turn' or 'none': the end-of-turn model `semantic_vad` sessions get. `requested` ('auto',
    'smart-turn', 'none') unless `VOICE_UI_TURN_MODEL` says. `auto` is the model when it is installed and the
    agent really listens (an agent that only hears tones has no words to judge). Raises ValueError for an
    unknown value or a model that was asked for and cannot run."""
    value = (os.environ if environ is None else environ).get(TURN_MODEL_ENV, '').strip().lower() or requested
    if value not in TURN_MODELS:
        raise ValueError(f'{TURN_MODEL_ENV} must be one of {", ".join(TURN_MODELS)}, not {value[:40]!r}')
    if value == 'none' or (value == 'auto' and not getattr(agent, 'listens', False)):
        return 'none'
    problem = unavailable_reason()
    if problem is None:
        return 'smart-turn'
    if value == 'smart-turn':
        raise ValueError(f'the end-of-turn model cannot run: {problem}')
    if 'failed to load' in problem:  # installed but broken: worth a line; merely absent is the default
        log.warning('semantic_vad runs without its end-of-turn model: %s', problem)
    return 'none'


def describe_turn_model(turn_model: str) -> str:
    """For the server's start-up line."""
    if turn_model == 'smart-turn':
        return 'semantic_vad: smart-turn v3.2 end-of-turn model'
    return 'semantic_vad: pause length by eagerness (no end-of-turn model)'


@functools.cache
def features_module() -> ModuleType:
    path = pipecat_file(FEATURES_FILE)
    if path is None:
        raise RuntimeError(f'the smart-turn feature code is not installed: {INSTALL_HINT}')
    spec = importlib.util.spec_from_file_location('voice_ui_smart_turn_features', path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f'cannot load {path.name}')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def shared_session():
    import onnxruntime
    path = pipecat_file(MODEL_FILE)
    if path is None:
        raise RuntimeError(f'the smart-turn v3.2 model is not installed: {INSTALL_HINT}')
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1  # 2 cores: a judgement never takes both
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'], sess_options=options)


def model_input(pcm: bytes) -> np.ndarray:
    """(1, 80, 800) features of the last 8 s of `pcm` (24 kHz PCM16), left-padded with silence."""
    import soxr
    audio = pcm16_to_float(pcm)
    if len(audio):
        audio = soxr.resample(audio, SAMPLE_RATE, MODEL_RATE, quality='HQ').astype(np.float32, copy=False)
    size = WINDOW_S * MODEL_RATE
    audio = audio[-size:] if len(audio) >= size else np.pad(audio, (size - len(audio), 0))
    # One BLAS thread for the features' one matrix product (~5 ms): with two, OpenBLAS's idle worker spins on
    # the other core for ~100 ms after it (measured), a core the speech models need.
    with blas_threads().limit(limits=1, user_api='blas'):
        features = features_module().compute_whisper_log_mel_features(audio, do_normalize=True)
    return np.asarray(features, np.float32)[None]


@functools.cache
def blas_threads():
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def turn_probability(pcm: bytes) -> float:
    """How likely the turn in `pcm` (24 kHz PCM16, ending with the pause so far) is complete, 0..1."""
    output = shared_session().run(None, {'input_features': model_input(pcm)})[0]
    probability = float(np.asarray(output, np.float64).reshape(-1)[0])
    return probability if 0.0 <= probability <= 1.0 else 0.0  # NaN or out of range: not a finished turn


@dataclass(frozen=True, eq=False)
class ScoreTurn:
    """Work for a worker thread: the end-of-turn probability of a turn's audio (24 kHz PCM16, at most
    `WINDOW_S` seconds), heard up to `end_ms` on the session's timeline. `eq=False`: each job is itself."""
    pcm: bytes
    end_ms: int

    def run(self) -> float:
        return turn_probability(self.pcm)
