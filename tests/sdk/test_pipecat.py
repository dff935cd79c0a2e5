"""pipecat's `OpenAIRealtimeLLMService` (pipecat-ai 1.14, which speaks the GA API) against the embedded server
with real offline speech, driven through a pipeline as pipecat users run it (tests/sdk/pipecat_bot.py).

Every event crosses a relay that keeps it (tests/sdk/event_tap.py): each server event is validated strictly
against the GA types, each pipecat event too, and the ones the server refused are listed exactly. pipecat comes
with the `turn` extra (for its end-of-turn model); the app never imports it.
"""
from __future__ import annotations

import asyncio
import base64
import importlib.util
import json

import pytest

from tests.support import unavailable

if importlib.util.find_spec('pipecat') is None:
    unavailable('pipecat-ai is not installed: pip install -e ".[turn]"')

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema  # noqa: E402
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema  # noqa: E402
from pipecat.frames.frames import (InterruptionFrame, LLMRunFrame, TranscriptionFrame,  # noqa: E402
                                   TTSAudioRawFrame, UserStartedSpeakingFrame, UserStoppedSpeakingFrame)
from pipecat.processors.aggregators.llm_context import LLMContext  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection  # noqa: E402
from pipecat.services.openai.realtime import events  # noqa: E402
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService  # noqa: E402

from tests.local_realtime.serving import API_KEY, serve  # noqa: E402
from tests.sdk.event_tap import EventTap  # noqa: E402
from tests.sdk.pipecat_bot import Bot, recording  # noqa: E402
from tests.support import until  # noqa: E402
from voice_ui.local_realtime.faults import Faults  # noqa: E402
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing  # noqa: E402
from voice_ui.protocol import BYTES_PER_MS  # noqa: E402
from voice_ui.speech import SPEECH_HINT, missing_speech_modules  # noqa: E402
from voice_ui.speech.scripted_brain import ScriptedBrain, after_tool, call_tool, when_heard  # noqa: E402
from voice_ui.speech.wer import word_error_rate  # noqa: E402

INSTRUCTIONS = 'You are a friendly weather assistant. Keep answers short.'
WEATHER = FunctionSchema(name='get_weather', description='The current weather in a city.',
                         properties={'city': {'type': 'string', 'description': 'The city.'}}, required=['city'])


def speech_server(pacing: Pacing):
    if missing_speech_modules():
        unavailable(f'speech extra not installed. {SPEECH_HINT}')
    from voice_ui.speech.agent import SpeechAgent
    brain = ScriptedBrain(when_heard('weather', call_tool('get_weather', {'city': 'Paris'})),
                          after_tool(lambda name, output: f'Paris is {json.loads(output)["sky"]} today.'))
    return serve(LocalRealtimeConfig(api_keys={API_KEY}, agent=SpeechAgent(brain=brain),
                                     engine=EngineOptions(pacing=pacing), allow_fault_endpoints=True))


@pytest.fixture(scope='module')
def served():
    with speech_server(Pacing.BURST) as served:
        yield served


@pytest.fixture(scope='module')
def served_in_real_time():
    """Replies paced like the service's, so that there is time to interrupt one."""
    with speech_server(Pacing.REALTIME) as served:
        yield served


def relay(served) -> EventTap:
    return EventTap(served.url.replace('http', 'ws', 1).removesuffix('/v1'))


@pytest.fixture
async def tap(served):
    async with relay(served) as tap:
        yield tap
        tap.validate()  # every event either way, whatever the test checked


def service(tap: EventTap, audio_input: events.AudioInput, **properties) -> OpenAIRealtimeLLMService:
    """The service as pipecat's docs configure it: `Settings` with the session properties."""
    session = events.SessionProperties(audio=events.AudioConfiguration(
        input=audio_input, output=events.AudioOutput(voice='cedar', speed=1.1)), **properties)
    return OpenAIRealtimeLLMService(api_key=API_KEY, base_url=f'{tap.url}/v1/realtime',
                                    settings=OpenAIRealtimeLLMService.Settings(
                                        model='gpt-realtime', system_instruction=INSTRUCTIONS,
                                        session_properties=session))


def session_log(served, tap: EventTap) -> dict:
    """The server's own log of this session: what its engine accepted from pipecat."""
    session_id = tap.of('session.created')[0]['session']['id']
    return next(log for log in served.server.logs.to_list() if log['session_id'] == session_id)


async def test_session_properties_reach_the_server_and_a_text_turn_gets_a_spoken_reply(served, tap):
    transcription = events.InputAudioTranscription(model='gpt-4o-mini-transcribe', language='en', prompt='Paris')
    audio_input = events.AudioInput(transcription=transcription,
                                    noise_reduction=events.InputAudioNoiseReduction(type='near_field'),
                                    turn_detection=events.TurnDetection(silence_duration_ms=700))
    context = LLMContext(messages=[{'role': 'user', 'content': 'Say hello to the listener.'}])
    async with Bot(service(tap, audio_input), context) as bot:
        await bot.worker.queue_frames([LLMRunFrame()])  # what pipecat's examples send when the client connects
        [reply] = await bot.replies(1)

    assert reply.text == 'You said: Say hello to the listener.'
    assert reply.rates == {(24_000, 1)} and len(reply.audio) > 24_000, 'less than half a second spoken'
    assert context.get_messages()[-1] == {'role': 'assistant', 'content': reply.text}
    session = tap.of('session.updated')[-1]['session']
    assert session['instructions'] == INSTRUCTIONS
    assert session['audio']['output']['voice'] == 'cedar' and session['audio']['output']['speed'] == 1.1
    heard = session['audio']['input']
    assert heard['transcription'] == {'model': 'gpt-4o-mini-transcribe', 'language': 'en', 'prompt': 'Paris'}
    assert heard['noise_reduction'] == {'type': 'near_field'}
    assert heard['turn_detection']['type'] == 'server_vad' and heard['turn_detection']['silence_duration_ms'] == 700
    log = session_log(served, tap)
    assert log['model'] == 'gpt-realtime' and log['authorization_header_present'], log
    assert [event['type'] for event in log['client_events']] == [event['type'] for event in tap.client_events]
    update = next(event for event in log['client_events'] if event['type'] == 'session.update')['session']
    assert update['audio']['input']['transcription']['prompt'] == 'Paris'
    [item] = tap.sent('conversation.item.create')
    assert item['item']['content'] == [{'type': 'input_text', 'text': 'Say hello to the listener.'}]
    assert tap.refusals() == []


@pytest.fixture
def thinking_model(served):
    """Replies start 1.2 s after they are asked for. pipecat closes the user's turn 0.5 s after `speech_stopped`
    (ExternalUserTurnStopStrategy), and a function result that lands while the turn is still open is never
    answered (its assistant aggregator owes the context push, then drops it). A real model takes longer than that
    to call a function; the burst-paced server does not."""
    served.server.config.faults.replace_with(Faults(reply_delay_ms=1200))
    yield
    served.server.config.faults.replace_with(Faults())


async def test_a_spoken_turn_with_server_vad_and_a_function_call_round_trip(served, tap, thinking_model):
    calls: list[dict] = []

    async def get_weather(params) -> None:
        calls.append(params.arguments)
        await params.result_callback({'sky': 'sunny'})

    llm = service(tap, events.AudioInput(transcription=events.InputAudioTranscription(language='en')))
    llm.register_function('get_weather', get_weather)
    context = LLMContext(messages=[{'role': 'user', 'content': 'Hello.'}], tools=ToolsSchema(standard_tools=[WEATHER]))
    text, pcm = await recording('weather', trailing_silence_ms=1000)
    async with Bot(llm, context) as bot:
        await bot.worker.queue_frames([LLMRunFrame()])
        [greeting] = await bot.replies(1)
        await bot.speak(pcm)
        call, answer = (await bot.replies(3))[1:]

    assert greeting.text == 'You said: Hello.' and calls == [{'city': 'Paris'}]
    assert call.text == '' and call.audio == b''  # the first response only called the function
    assert answer.text == 'Paris is sunny today.' and answer.rates == {(24_000, 1)} and len(answer.audio) > 24_000
    [transcript] = bot.heard.of(TranscriptionFrame, FrameDirection.UPSTREAM)
    assert word_error_rate(text, transcript.text) <= 0.34, transcript.text
    types = [event['type'] for event in tap.server_events]
    assert types.index('input_audio_buffer.speech_started') < types.index('input_audio_buffer.speech_stopped')
    sent_tools = tap.sent('session.update')[-1]['session']['tools']
    assert [tool['name'] for tool in sent_tools] == ['get_weather']
    [output] = [e['item'] for e in tap.sent('conversation.item.create') if e['item']['type'] == 'function_call_output']
    arguments = tap.of('response.function_call_arguments.done')[0]
    assert output['call_id'] == arguments['call_id'] and json.loads(output['output']) == {'sky': 'sunny'}
    assert [e['response']['status'] for e in tap.of('response.done')] == ['completed'] * 3
    roles = [message.get('role') for message in context.get_messages()]
    assert roles == ['user', 'assistant', 'user', 'assistant', 'tool', 'assistant'], context.get_messages()
    assert tap.refusals() == []


async def test_locally_driven_turns_and_retrieving_items_known_and_unknown(served, tap):
    """turn_detection=False: the pipeline's own turn frames commit the audio. pipecat's `retrieve_conversation_item`
    must return an item the server holds and fail (not hang) for one it does not, the session living on."""
    llm = service(tap, events.AudioInput(turn_detection=False, transcription=events.InputAudioTranscription()),
                  output_modalities=['text'])
    text, pcm = await recording('lights')
    async with Bot(llm, LLMContext(messages=[{'role': 'user', 'content': 'Hello.'}])) as bot:
        await bot.worker.queue_frames([LLMRunFrame()])
        [greeting] = await bot.replies(1)
        for turn in (1, 2):
            await bot.worker.queue_frame(UserStartedSpeakingFrame())
            await bot.speak(pcm)
            await bot.worker.queue_frame(UserStoppedSpeakingFrame())  # as a local VAD would at the end of speech
            reply = (await bot.replies(1 + turn))[turn]
            heard = tap.of('conversation.item.input_audio_transcription.completed')[turn - 1]['transcript']
            assert word_error_rate(text, heard) <= 0.34, heard
            assert reply.text == f'You said: {heard}' and reply.audio == b''  # a text-only session
            if turn == 1:
                user_item = tap.of('input_audio_buffer.committed')[0]['item_id']
                retrieved = await asyncio.wait_for(llm.retrieve_conversation_item(user_item), 10)
                with pytest.raises(Exception, match="the item with id 'item_gone' does not exist"):
                    await asyncio.wait_for(llm.retrieve_conversation_item('item_gone'), 10)
        assert bot.errors() == []  # the refused retrieve did not end pipecat's session: the second turn ran

    assert greeting.text == 'You said: Hello.'
    assert retrieved.id == user_item and retrieved.content[0].type == 'input_audio'
    assert tap.sent('session.update')[-1]['session']['audio']['input']['turn_detection'] is None
    assert not tap.of('input_audio_buffer.speech_started')  # no server turn detection
    assert [e['type'] for e in tap.client_events if e['type'] != 'input_audio_buffer.append'][-6:] == [
        'input_audio_buffer.commit', 'response.create', 'conversation.item.retrieve', 'conversation.item.retrieve',
        'input_audio_buffer.commit', 'response.create']
    assert tap.refusals() == [('conversation.item.retrieve', 'item_retrieve_invalid_item_id')]



async def test_barge_in_cancels_the_reply_and_truncates_it_at_what_was_delivered(served_in_real_time):
    text, pcm = await recording('lights', trailing_silence_ms=1000)
    async with relay(served_in_real_time) as tap:
        llm = service(tap, events.AudioInput(transcription=events.InputAudioTranscription(language='en')))
        story = 'Tell me a long story about the weather in Paris, London and Rome.'
        async with Bot(llm, LLMContext(messages=[{'role': 'user', 'content': story}])) as bot:
            await bot.worker.queue_frames([LLMRunFrame()])
            await until(lambda: bot.said.of(TTSAudioRawFrame), 60, 'the reply starting to speak')
            await bot.speak(pcm, speed=1.0)  # the user talks over it, in real time
            cut, answer = await bot.replies(2)
        tap.validate()

    interrupted = tap.of('response.done')[0]['response']
    assert interrupted['status'] == 'cancelled' and interrupted['status_details']['reason'] == 'turn_detected'
    assert bot.said.of(InterruptionFrame), 'pipecat did not interrupt its output'
    [item] = interrupted['output']
    delivered_ms = sum(len(base64.b64decode(e['delta'])) for e in tap.of('response.output_audio.delta')
                       if e['item_id'] == item['id']) / BYTES_PER_MS
    [truncate] = tap.sent('conversation.item.truncate')
    assert truncate['item_id'] == item['id'] and 0 < truncate['audio_end_ms'] <= delivered_ms, (truncate, delivered_ms)
    [truncated] = tap.of('conversation.item.truncated')
    assert (truncated['item_id'], truncated['audio_end_ms']) == (item['id'], truncate['audio_end_ms'])
    assert len(cut.audio) / BYTES_PER_MS >= truncate['audio_end_ms']  # pipecat played up to where it cut
    assert f'You said: {story}'.startswith(cut.text) and len(cut.text) < len(f'You said: {story}'), cut.text
    heard = tap.of('conversation.item.input_audio_transcription.completed')[0]['transcript']
    assert word_error_rate(text, heard) <= 0.34, heard
    assert answer.text == f'You said: {heard}' and tap.of('response.done')[1]['response']['status'] == 'completed'
    assert tap.refusals() == []
