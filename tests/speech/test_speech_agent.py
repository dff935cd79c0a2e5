"""SpeechAgent end to end: it hears a committed turn, answers 'You said: …' aloud, and never blocks the loop."""
from __future__ import annotations

import asyncio
import time

from voice_ui.local_realtime.server_agent import Message
from voice_ui.speech.agent import SpeechAgent
from voice_ui.speech.brains import NOTHING_HEARD, EchoBrain
from voice_ui.speech.models import ModelCache
from voice_ui.speech.wer import word_error_rate

from .test_speech_models import MAX_WER, ROUND_TRIP_MAX_WER, assert_plausible_speech

LOOP_STALL_LIMIT_S = 0.1   # the engine paces 50 ms audio deltas ~300 ms ahead: a long stall would be heard
LOAD_STALL_LIMIT_S = 0.3


async def test_transcribe_then_respond_echoes_what_was_heard(speech_agent, utterances):
    for utterance in utterances:
        heard = await speech_agent.transcribe(utterance.pcm24, 'en', None)
        assert word_error_rate(utterance.text, heard) <= MAX_WER, heard
        reply = await speech_agent.respond([Message('user', heard)], utterance.pcm24)
        assert reply.text == f'You said: {heard}'
        assert_plausible_speech(reply.audio, reply.text)
        said_back = await speech_agent.transcribe(reply.audio, 'en', None)
        assert word_error_rate(f'you said {utterance.text}', said_back) <= ROUND_TRIP_MAX_WER, said_back


async def test_text_turn_is_answered_aloud(speech_agent):
    history = [Message('user', 'hi'), Message('assistant', 'You said: hi'), Message('user', 'good morning')]
    reply = await speech_agent.respond(history, b'')
    assert reply.text == 'You said: good morning'
    assert_plausible_speech(reply.audio, reply.text)


async def test_nothing_heard_gets_an_apology(speech_agent):
    reply = await speech_agent.respond([Message('user', '')], bytes(4800))
    assert reply.text == NOTHING_HEARD
    assert_plausible_speech(reply.audio, reply.text)


async def test_models_load_once_for_concurrent_sessions(speech_ready, utterances):
    cache = ModelCache()
    sessions = [SpeechAgent(brain=EchoBrain(), models=cache) for _ in range(3)]
    weather = utterances[0]
    results = await asyncio.gather(*(agent.transcribe(weather.pcm24, 'en', None) for agent in sessions),
                                   *(agent.speak('Hello there.') for agent in sessions))
    assert cache.loads == 2  # one whisper, one piper, for three sessions asking at the same moment
    assert all(word_error_rate(weather.text, heard) <= MAX_WER for heard in results[:3]), results
    assert all(len(audio) > 0 for audio in results[3:])
    recognizers = {id(await agent.recognizer()) for agent in sessions}
    assert len(recognizers) == 1


async def longest_stall(work) -> tuple[float, float, int]:
    """(longest event-loop gap, wall time, ticks) while `work` runs, seen by a coroutine ticking every 5 ms."""
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    await work
    busy_s = time.perf_counter() - started
    stop.set()
    await ticking
    return max(gaps), busy_s, len(gaps)


async def test_hearing_and_speaking_never_stall_the_event_loop(speech_agent, utterances):
    await speech_agent.warm_up()

    async def turn() -> None:
        heard = await speech_agent.transcribe(utterances[1].pcm24, 'en', None)
        reply = await speech_agent.respond([Message('user', heard)], utterances[1].pcm24)
        assert reply.audio

    stall, busy_s, _ = await longest_stall(turn())
    assert busy_s > 0.3  # real work happened while the ticker ran
    assert stall < LOOP_STALL_LIMIT_S, f'event loop stalled for {stall:.3f} s'


async def test_model_loading_runs_off_the_event_loop(speech_ready):
    """ctranslate2's constructor holds the GIL for a moment (~80 ms here), so loading gets a looser bound;
    it happens once per process (call `warm_up()` at startup to keep it out of the first turn)."""
    agent = SpeechAgent(brain=EchoBrain(), models=ModelCache())
    stall, busy_s, ticks = await longest_stall(agent.warm_up())
    assert ticks >= busy_s / 0.005 / 4  # the loop kept turning during the load
    assert stall < LOAD_STALL_LIMIT_S, f'event loop stalled for {stall:.3f} s while loading'


async def test_warm_up_loads_both_models(speech_ready):
    cache = ModelCache()
    agent = SpeechAgent(brain=EchoBrain(), models=cache)
    await agent.warm_up()
    assert cache.loads == 2
    await agent.warm_up()
    assert cache.loads == 2
    assert 'whisper' in agent.description and 'piper' in agent.description and 'echo' in agent.description
