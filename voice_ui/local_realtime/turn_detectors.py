"""Which voice activity detector a session's `turn_detection` gets, and what `semantic_vad` means here.

Two detectors share one interface (`feed` -> `VadEvent`s, `reset`, `speaking`): the Silero neural detector
(neural_vad.py, with the speech extra) and the energy detector (vad.py, always available). The server's
`EngineOptions.vad` names the kind; `VOICE_UI_VAD=neural|energy|auto` overrides it. `auto` gives the neural
detector to agents that `listens` (the speech agent: it hears real voices, and noise that fools an energy
detector is not speech to Silero) and the energy one to the rest (the echo agent's tests speak in tones). The
hands-free browser tests pass with it on a quiet machine (a loaded one at 15-20 had failed them with either).

`semantic_vad` judges whether what was said so far is a finished thought. With the `turn` extra (pipecat-ai,
which ships smart-turn v3.2: end_of_turn.py) and a listening agent it gets `SemanticTurns` (semantic_turns.py):
the voice detector hears a short pause, the model judges it in a worker, a finished turn ends at once and an
unfinished one waits for a longer pause set by `eagerness`. `EngineOptions.turn_model` names the choice;
`VOICE_UI_TURN_MODEL=smart-turn|none|auto` overrides it. Without the model `semantic_vad` is the same detector
as `server_vad` with its pause chosen by `eagerness`: `high` answers after a short pause, `low` lets the user
think (EAGERNESS_SILENCE_MS). README says so.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from .vad import EnergyVad

log = logging.getLogger(__name__)
VAD_ENV = 'VOICE_UI_VAD'
VAD_KINDS = ('auto', 'neural', 'energy')
NEURAL_BY_DEFAULT = True  # `auto` for a listening agent: see the module docstring
# semantic_vad's eagerness -> the pause (ms) that ends a turn; the service's `auto` is `medium`.
EAGERNESS_SILENCE_MS = {'high': 350, 'medium': 700, 'auto': 700, 'low': 1400}
SEMANTIC_PREFIX_PADDING_MS = 300
SEMANTIC_THRESHOLD = 0.5


def detector_settings(turn_detection: dict) -> tuple[float, int, int]:
    """(threshold, prefix_padding_ms, silence_duration_ms) of a validated `turn_detection`."""
    if turn_detection.get('type') == 'semantic_vad':
        silence = EAGERNESS_SILENCE_MS[turn_detection.get('eagerness') or 'auto']
        return SEMANTIC_THRESHOLD, SEMANTIC_PREFIX_PADDING_MS, silence
    return (float(turn_detection.get('threshold', 0.5)), int(turn_detection.get('prefix_padding_ms', 300)),
            int(turn_detection.get('silence_duration_ms', 500)))


def new_detector(kind: str, turn_detection: dict, origin_ms: int, turn_model: str = 'none'):
    """A fresh detector of `kind` ('neural' or 'energy'; anything else is energy) for the session timeline;
    `semantic_vad` with `turn_model` 'smart-turn' gets it wrapped in the end-of-turn model's pause rule."""
    threshold, padding, silence = detector_settings(turn_detection)
    semantic = turn_detection.get('type') == 'semantic_vad' and turn_model == 'smart-turn'
    if semantic:
        from .semantic_turns import SHORT_PAUSE_MS
        silence = SHORT_PAUSE_MS
    if kind == 'neural':
        from .neural_vad import NeuralVad
        inner = NeuralVad(threshold, padding, silence, origin_ms=origin_ms)
    else:
        inner = EnergyVad(threshold, padding, silence, origin_ms=origin_ms)
    if not semantic:
        return inner
    from .semantic_turns import MODEL_WAIT_MS, SemanticTurns
    return SemanticTurns(inner, MODEL_WAIT_MS[turn_detection.get('eagerness') or 'auto'], origin_ms)


def choose_vad(requested: str, agent: object, environ: Mapping[str, str] | None = None) -> str:
    """The detector kind a server uses: `requested` ('auto', 'neural', 'energy'), unless `VOICE_UI_VAD` says.
    Raises ValueError for an unknown kind or a neural detector that cannot run here."""
    value = (os.environ if environ is None else environ).get(VAD_ENV, '').strip().lower() or requested
    if value not in VAD_KINDS:
        raise ValueError(f'{VAD_ENV} must be one of {", ".join(VAD_KINDS)}, not {value[:40]!r}')
    if value == 'energy':
        return 'energy'
    from .neural_vad import unavailable_reason
    default_neural = NEURAL_BY_DEFAULT and getattr(agent, 'listens', False)
    problem = unavailable_reason() if value == 'neural' or default_neural else 'not listening'
    if problem is None:
        return 'neural'
    if value == 'neural':
        raise ValueError(f'the neural voice activity detector cannot run: {problem}')
    if problem != 'not listening':
        log.warning('turn detection falls back to the energy detector: %s', problem)
    return 'energy'


def describe_vad(kind: str) -> str:
    """For the server's start-up line."""
    return 'turn detection: Silero VAD v6 (neural)' if kind == 'neural' else 'turn detection: energy VAD'
