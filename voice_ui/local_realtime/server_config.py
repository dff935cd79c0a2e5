"""How the embedded server is set up: accepted keys, the agent, pacing, session limit, bounds and faults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from enum import StrEnum

from .server_agent import Agent, EchoAgent
from .faults import ALLOW_FAULTS_ENV, Faults
from .limits import ServerLimits
from .end_of_turn import choose_turn_model
from .turn_detectors import choose_vad


class Pacing(StrEnum):
    BURST = 'burst'        # every delta as fast as possible: fast tests
    REALTIME = 'realtime'  # about real-time, slightly ahead, like the real service


@dataclass(frozen=True)
class EngineOptions:
    pacing: Pacing = Pacing.REALTIME
    chunk_ms: int = 50               # audio per `response.output_audio.delta` (the service sends ~20-100 ms)
    lead_ms: int = 300               # realtime pacing runs this far ahead of playback
    word_ms: int = 60                # realtime pace of transcript words when a reply has no audio
    session_limit_s: float = 60 * 60  # the service ends sessions after 60 minutes
    vad: str = 'auto'                 # turn detection's detector: neural | energy | auto (turn_detectors.py)
    turn_model: str = 'auto'          # semantic_vad's end-of-turn model: smart-turn | none | auto (end_of_turn.py)


@dataclass
class LocalRealtimeConfig:
    api_keys: frozenset[str] | set[str] | tuple[str, ...]
    agent: Agent = field(default_factory=EchoAgent)
    engine: EngineOptions = field(default_factory=EngineOptions)
    faults: Faults = field(default_factory=Faults)
    limits: ServerLimits = field(default_factory=ServerLimits)  # every bound against hostile peers (limits.py)
    allow_fault_endpoints: bool = False  # `/v1/_local/*`; also switched on by VOICE_UI_ALLOW_FAULTS=1
    prefix: str = '/v1'

    def __post_init__(self) -> None:
        if isinstance(self.api_keys, str):
            raise TypeError('api_keys must be a collection of keys, not one string')
        self.api_keys = frozenset(self.api_keys)
        if not self.api_keys or not all(self.api_keys):
            raise ValueError('the embedded server needs at least one non-empty API key')
        # `auto` becomes a kind now: neural when the agent really listens and the model loads (or $VOICE_UI_VAD)
        self.engine = replace(self.engine, vad=choose_vad(self.engine.vad, self.agent),
                              turn_model=choose_turn_model(self.engine.turn_model, self.agent))

    @property
    def fault_endpoints_enabled(self) -> bool:
        return self.allow_fault_endpoints or os.environ.get(ALLOW_FAULTS_ENV, '') == '1'
