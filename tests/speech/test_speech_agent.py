"""SpeechAgent end to end: it hears a committed turn, answers 'You said: …' aloud, and never blocks the loop."""
from __future__ import annotations

import asyncio
import time

from voice_ui.local_realtime.agent import Message
from voice_ui.speech.agent import SpeechAgent
from voice_ui.speech.brains import NOTHING_HEARD, EchoBrain
from voice_ui.speech.models import ModelCache
from voice_ui.speech.wer import word_error_rate

from .test_speech_models import MAX_WER, assert_plausible_speech

LOOP_STALL_LIMIT_S = 0.15  # the engine streams 20-40 ms audio deltas: a stall longer than this would be heard


async def test_transcribe_then_respond_echoes_what_was_heard(speech_agent, utterances):
    for utterance in utterances:
        heard = await speech_agent.transcribe(utterance.pcm24, 'en', None)
        assert word_error_rate(utterance.text, heard) <= MAX_WER, heard
        reply = await speech_agent.respond([Message('user', heard)], utterance.pcm24)
        assert reply.text == f'You said: {heard}'
        assert_plausible_speech(reply.audio, reply.text)
        said_back = await speech_agent.transcribe(reply.audio, 'en', None)
        assert word_error_rate(f'you said {utterance.text}', said_back) <= MAX_WER, said_back


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


async def test_loading_hearing_and_speaking_never_stall_the_event_loop(speech_ready, utterances):
    agent = SpeechAgent(brain=EchoBrain(), models=ModelCache())  # cold: the model loads happen inside too
    gaps: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(stop))
    started = time.perf_counter()
    heard = await agent.transcribe(utterances[1].pcm24, 'en', None)
    reply = await agent.respond([Message('user', heard)], utterances[1].pcm24)
    busy_s = time.perf_counter() - started
    stop.set()
    await ticking
    assert reply.audio and busy_s > 0.3  # real work happened while the ticker ran
    assert max(gaps) < LOOP_STALL_LIMIT_S, f'event loop stalled for {max(gaps):.3f} s'


async def test_warm_up_loads_both_models(speech_ready):
    cache = ModelCache()
    agent = SpeechAgent(brain=EchoBrain(), models=cache)
    await agent.warm_up()
    assert cache.loads == 2
    await agent.warm_up()
    assert cache.loads == 2
    assert 'whisper' in agent.description and 'piper' in agent.description and 'echo' in agent.description
