"""Sentence-streamed replies, cancel during synthesis, admission refusal and model load failures, over a real
WebSocket against the embedded server (every event validated against the GA types). No speech models needed:
the agents here stand in for the SpeechAgent's streaming abilities and are driven step by step."""
from __future__ import annotations

import asyncio
import base64
import threading

import pytest

from tests.local_realtime.serving import API_KEY, MANUAL_SESSION, RealtimeClient, connect, mint, open_session, serve
from voice_ui.local_realtime.server_agent import EchoAgent, Reply
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.protocol import ServerEvent
from voice_ui.speech.capacity import SpeechSeats, capacity_from_env

PIECE_MS = 400
PIECES = ('You said:', ' hello there.', ' How are you?')


def tone(ms: int) -> bytes:
    return bytes(range(256)) * (ms * 48 // 256) + bytes(ms * 48 % 256)


class SteppedAgent(EchoAgent):
    """Yields one reply piece per `release()`; records what it synthesised and whether it was stopped."""

    description = 'stepped test agent'

    def __init__(self) -> None:
        self.allowed = threading.Semaphore(0)
        self.synthesised: list[str] = []
        self.closed = threading.Event()

    def release(self, count: int = 1) -> None:
        for _ in range(count):
            self.allowed.release()

    async def respond_stream(self, history, audio, instructions=None, tools=None):
        try:
            for text in PIECES:
                while not self.allowed.acquire(blocking=False):
                    await asyncio.sleep(0.005)
                self.synthesised.append(text)
                ends = tuple(round(PIECE_MS * (index + 1) / len(text.split())) for index in range(len(text.split())))
                yield Reply(text, tone(PIECE_MS), (), ends)
        finally:
            self.closed.set()


@pytest.fixture
def stepped():
    agent = SteppedAgent()
    with serve(LocalRealtimeConfig(api_keys={API_KEY}, agent=agent,
                                   engine=EngineOptions(pacing=Pacing.BURST))) as served:
        yield agent, served


async def test_first_sentence_streams_before_the_rest_is_synthesised(stepped):
    agent, served = stepped
    client = await open_session(served.url, MANUAL_SESSION)
    await client.send({'type': 'response.create'})
    agent.release()
    events = await client.until(ServerEvent.OUTPUT_AUDIO_DELTA)
    assert agent.synthesised == ['You said:']  # audio is on the wire while the next sentence is not yet made
    assert not any(event['type'] == ServerEvent.RESPONSE_DONE for event in events)
    agent.release(2)
    events += await client.until(ServerEvent.RESPONSE_DONE)
    done = events[-1]['response']
    assert done['status'] == 'completed'
    [said] = [event for event in events if event['type'] == ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE]
    assert said['transcript'] == ''.join(PIECES)
    audio = b''.join(base64.b64decode(e['delta']) for e in events if e['type'] == ServerEvent.OUTPUT_AUDIO_DELTA)
    assert audio == tone(PIECE_MS) * len(PIECES)
    deltas = [e['delta'] for e in events if e['type'] == ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DELTA]
    assert ''.join(deltas) == ''.join(PIECES)
    assert len({e['item_id'] for e in events if 'item_id' in e and e['type'].startswith('response.')}) == 1

    # word timing runs across the pieces: 1.5 pieces heard keep 'You said: hello' (one of ' hello there.')
    item_id = said['item_id']
    await client.send({'type': 'conversation.item.truncate', 'item_id': item_id, 'content_index': 0,
                       'audio_end_ms': PIECE_MS + PIECE_MS // 2})
    await client.until(ServerEvent.ITEM_TRUNCATED)
    await client.send({'type': 'conversation.item.retrieve', 'item_id': item_id})
    [retrieved] = [e for e in await client.until('conversation.item.retrieved')
                   if e['type'] == 'conversation.item.retrieved']
    assert retrieved['item']['content'][0]['transcript'] == 'You said: hello'
    await client.connection.close()


async def test_cancel_during_synthesis_stops_the_work(stepped):
    agent, served = stepped
    client = await open_session(served.url, MANUAL_SESSION)
    await client.send({'type': 'response.create'})
    agent.release()
    await client.until(ServerEvent.OUTPUT_AUDIO_DELTA)
    await client.send({'type': 'response.cancel'})
    done = (await client.until(ServerEvent.RESPONSE_DONE))[-1]['response']
    assert done['status'] == 'cancelled'
    agent.release(2)  # the agent may go on only if it was not stopped
    assert await asyncio.to_thread(agent.closed.wait, 5)
    await asyncio.sleep(0.1)
    assert agent.synthesised == ['You said:']  # the second sentence was never synthesised
    transcript = done['output'][0]['content'][0]['transcript']
    assert transcript == 'You said:' and done['output'][0]['status'] == 'incomplete'
    await client.connection.close()


class SeatedAgent(EchoAgent):
    description = 'two-seat test agent'

    def __init__(self, problem: str | None = None) -> None:
        self.seats = SpeechSeats(2)
        self.problem = problem

    async def load_problem(self) -> str | None:
        return self.problem


async def test_sessions_beyond_speech_capacity_are_refused_with_a_clear_error():
    agent = SeatedAgent()
    with serve(LocalRealtimeConfig(api_keys={API_KEY}, agent=agent)) as served:
        first, second = [await open_session(served.url, MANUAL_SESSION) for _ in range(2)]
        refused = RealtimeClient(await connect(served.url, mint(served.url, MANUAL_SESSION).json()['value']))
        error = await refused.expect_error('rate_limit_exceeded')
        assert 'speech capacity' in error['message'] and '2 concurrent' in error['message']
        await first.connection.close()
        for _ in range(100):  # the freed seat is given to the next session
            if agent.seats.taken < 2:
                break
            await asyncio.sleep(0.02)
        third = await open_session(served.url, MANUAL_SESSION)
        await third.connection.close()
        await second.connection.close()


async def test_a_model_that_fails_to_load_is_a_ga_error_at_session_start():
    agent = SeatedAgent('the voice could not be loaded: no such file')
    with serve(LocalRealtimeConfig(api_keys={API_KEY}, agent=agent)) as served:
        client = await open_session(served.url, MANUAL_SESSION)
        error = await client.expect_error('server_error')
        assert error['type'] == 'server_error' and 'no such file' in error['message']
        await client.send({'type': 'session.update', 'session': {'type': 'realtime', 'instructions': 'hi'}})
        await client.until(ServerEvent.SESSION_UPDATED)  # the session lives on
        await client.connection.close()


def test_capacity_comes_from_the_environment_and_bad_values_keep_a_limit():
    assert capacity_from_env({'VOICE_UI_SPEECH_MAX_SESSIONS': '3'}) == 3
    assert capacity_from_env({'VOICE_UI_SPEECH_SESSIONS_PER_CORE': '1'}) >= 1
    default = capacity_from_env({})
    assert default >= 1
    for bad in ('', 'nan', '-1', 'lots', 'inf', '0'):  # ignored: the per-core default holds, never 0 or unbounded
        assert capacity_from_env({'VOICE_UI_SPEECH_MAX_SESSIONS': bad}) == default, bad
