"""openai-agents' `RealtimeRunner` against the embedded server with real offline speech: a manual turn, a VAD
turn, and a function tool round trip in which the agent (a scripted brain) decides to call the tool, the SDK
runs it, and the server speaks its result."""
from __future__ import annotations

import asyncio
import json

import pytest
from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner
from agents.realtime.model_inputs import RealtimeModelSendRawMessage

from tests.local_realtime.serving import API_KEY, pcm_of, serve, silence
from tests.protocol_validation import validate_server_event
from tests.speech.conftest import unavailable
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.speech import SPEECH_HINT, missing_speech_modules
from voice_ui.speech.scripted_brain import ScriptedBrain, after_tool, call_tool, when_heard
from voice_ui.speech.wer import word_error_rate

FORECAST = 'sunny and twenty one degrees'
tool_calls: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    tool_calls.append(city)
    return FORECAST


@pytest.fixture(scope='module')
def server_url():
    if missing_speech_modules():
        unavailable(f'speech extra not installed. {SPEECH_HINT}')
    from voice_ui.speech.agent import SpeechAgent
    brain = ScriptedBrain(when_heard('weather', call_tool('get_weather', {'city': 'Paris'})),
                          after_tool(lambda name, output: f'In Paris it is {output}.'))
    config = LocalRealtimeConfig(api_keys={API_KEY}, agent=SpeechAgent(brain=brain),
                                 engine=EngineOptions(pacing=Pacing.BURST))
    with serve(config) as served:
        yield served.url.replace('http', 'ws', 1)


class Run:
    """One RealtimeSession's events, the raw server events among them validated against the GA types."""

    def __init__(self, session) -> None:
        self.session = session
        self.events: list = []
        self.raw: list[dict] = []

    async def until(self, kind: str, count: int = 1, timeout: float = 120) -> None:
        async def collect() -> None:
            async for event in self.session:
                self.events.append(event)
                assert event.type != 'error', event
                if event.type == 'raw_model_event' and event.data.type == 'raw_server_event':
                    validate_server_event(event.data.data)
                    self.raw.append(event.data.data)
                if sum(1 for e in self.events if e.type == kind) >= count:
                    return
        await asyncio.wait_for(collect(), timeout)

    def of(self, kind: str) -> list:
        return [e for e in self.events if e.type == kind]

    def spoken(self) -> bytes:
        return b''.join(e.audio.data for e in self.of('audio'))

    def assistant_transcripts(self) -> list[str]:
        return [e['transcript'] for e in self.raw if e['type'] == 'response.output_audio_transcript.done']


def runner(**model_settings) -> RealtimeRunner:
    agent = RealtimeAgent(name='Assistant', instructions='You are a helpful weather assistant.',
                          tools=[get_weather])
    return RealtimeRunner(agent, config={'model_settings': {'model_name': 'gpt-realtime', **model_settings}})


def model_config(url: str) -> dict:
    return {'url': f'{url}/realtime?model=gpt-realtime', 'api_key': API_KEY}


async def test_a_manual_turn(server_url):
    session = await runner(turn_detection=None).run(model_config=model_config(server_url))
    async with session:
        run = Run(session)
        await session.send_audio(pcm_of('lights') + silence(300), commit=True)
        await session.model.send_event(RealtimeModelSendRawMessage(message={'type': 'response.create'}))
        await run.until('agent_end')
        heard = next(e['transcript'] for e in run.raw
                     if e['type'] == 'conversation.item.input_audio_transcription.completed')
        assert word_error_rate('please turn on the kitchen lights', heard) <= 0.34
        assert run.assistant_transcripts()[-1].startswith('You said:')
        assert len(run.spoken()) > 24_000  # more than half a second of speech


async def test_a_vad_turn_and_a_function_tool_round_trip_that_speaks_the_result(server_url):
    tool_calls.clear()
    session = await runner().run(model_config=model_config(server_url))  # the SDK's default: semantic_vad
    async with session:
        run = Run(session)
        speech = pcm_of('weather') + silence(1500)
        for start in range(0, len(speech), 4800):
            await session.send_audio(speech[start:start + 4800])
        await run.until('tool_end')
        assert tool_calls == ['Paris']
        [tool_end] = run.of('tool_end')
        assert tool_end.tool.name == 'get_weather' and tool_end.output == FORECAST
        await run.until('agent_end', count=2)  # the call's response, then the spoken answer
        types = [e['type'] for e in run.raw]
        assert 'input_audio_buffer.speech_started' in types and 'input_audio_buffer.speech_stopped' in types
        arguments = next(e for e in run.raw if e['type'] == 'response.function_call_arguments.done')
        assert json.loads(arguments['arguments']) == {'city': 'Paris'}
        assert run.assistant_transcripts()[-1] == f'In Paris it is {FORECAST}.'
        last_response = [e for e in run.raw if e['type'] == 'response.done'][-1]['response']
        assert last_response['status'] == 'completed'
        assert len(run.spoken()) > 48_000  # the answer was spoken, not only written
        history_items = [item.type for item in session._history]
        assert 'function_call' in history_items
