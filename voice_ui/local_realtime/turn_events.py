"""What the engine does when its voice activity detector decides: speech started (interrupt the reply) or
stopped (commit the turn, answer it). Sans-I/O like the engine.

The energy detector decides inside `input_audio_buffer.append`. The neural one does too for the small appends
of a client streaming in real time; a large append is scored by a worker instead (`ScoreVoice`, queued as an
action the transport runs in a thread, like agent work), whose result comes back through `voice_scored`, so
a bulk upload never stalls the event loop. semantic_vad's end-of-turn model (`ScoreTurn`, semantic_turns.py)
always runs that way: its judgement of a pause comes back through `voice_scored` too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import ServerEvent
from .events import event
from .session_guard import failed
from .vad import VadEvent

if TYPE_CHECKING:
    from .engine import RealtimeEngine
    from .end_of_turn import ScoreTurn
    from .neural_vad import ScoreVoice


def on_voice_events(engine: RealtimeEngine, changes: list[VadEvent], now: float) -> None:
    for change in changes:
        if change.kind == 'started':
            engine.idle.disarm()
            engine.send(event(ServerEvent.SPEECH_STARTED, audio_start_ms=change.ms,
                              item_id=engine.next_user_item_id), now)
            if engine.active is not None and engine.turn_detection.get('interrupt_response', True):
                engine.queue(engine.active.cancel('turn_detected'), now)
        else:
            engine.send(event(ServerEvent.SPEECH_STOPPED, audio_end_ms=change.ms,
                              item_id=engine.next_user_item_id), now)
            engine.commit(engine.audio.take_turn(change.ms), now)
            if engine.turn_detection.get('create_response', True) and engine.active is None:
                engine.create_response({}, now)
            else:
                engine.rearm_idle(now)
    ask_for_scoring(engine, now)


def ask_for_scoring(engine: RealtimeEngine, now: float) -> None:
    # semantic_vad may have two jobs due (a turn to judge and audio to score): at most one of each is out
    for _ in range(2):
        job = engine.audio.voice_work()
        if job is None:
            return
        engine.queue([job], now)


def voice_scored(engine: RealtimeEngine, job: ScoreVoice | ScoreTurn, result, now: float) -> None:
    """A worker scored `job`: apply what the detector decides (the transport calls this on the event loop)."""
    if engine.closed:
        return
    engine.now = max(engine.now, now)
    engine.guarded(lambda when: on_voice_events(engine, engine.audio.voice_scored(job, result), when),
                   'voice detection', now)


def voice_failed(engine: RealtimeEngine, job: ScoreVoice | ScoreTurn, now: float) -> None:
    """The worker raised: say so, and start the detector afresh (the job's audio stays buffered, unscored)."""
    if engine.closed:
        return
    engine.send(failed('voice detection'), now)
    vad = engine.audio.vad
    job_failed = getattr(vad, 'job_failed', None)  # semantic_vad's detector: a failed judgement is not fatal
    if job_failed is not None:
        job_failed(job, engine.audio.total_ms)
    elif getattr(vad, 'in_flight', None) is job:
        vad.reset(engine.audio.total_ms)
