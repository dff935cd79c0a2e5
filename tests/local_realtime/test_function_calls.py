"""Function calling on the sans-I/O engine: a scripted brain really decides, the engine streams it as GA does."""
from __future__ import annotations

import json

import pytest

from voice_ui.local_realtime.server_agent import BrainAgent, EchoAgent, Reply, ToolCall
from voice_ui.local_realtime.server_config import EngineOptions, Pacing
from voice_ui.protocol import ServerEvent
from voice_ui.speech.scripted_brain import ScriptedBrain, after_tool, call_tool, when_heard

from .test_engine import Harness

WEATHER_TOOL = {'type': 'function', 'name': 'get_weather', 'description': 'The weather in a city.',
                'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}}
TIME_TOOL = {'type': 'function', 'name': 'get_time', 'parameters': {'type': 'object', 'properties': {}}}


def weather_brain() -> ScriptedBrain:
    return ScriptedBrain(when_heard('weather', call_tool('get_weather', {'city': 'Paris'})),
                         after_tool(lambda name, output: f'{name} says: {output}.'))


def harness_with(brain: ScriptedBrain | None = None, options: EngineOptions | None = None,
                 **session: object) -> Harness:
    harness = Harness(options or EngineOptions(pacing=Pacing.BURST), agent=BrainAgent(brain or weather_brain()))
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'output_modalities': ['text'],
                                                        'tools': [WEATHER_TOOL, TIME_TOOL], **session}})
    assert harness.types()[-1] == ServerEvent.SESSION_UPDATED, harness.sent[-1]
    return harness


def say(harness: Harness, text: str, **response: object) -> None:
    harness.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': text}]}})
    harness.send({'type': 'response.create', **({'response': response} if response else {})})


def events_after(harness: Harness, start: int) -> list[dict]:
    return [e for _, e in harness.sent[start:]]


def test_a_tool_round_trip_streams_the_call_then_speaks_its_output():
    harness = harness_with()
    start = len(harness.sent)
    say(harness, 'What is the weather like?')
    events = events_after(harness, start)
    types = [e['type'] for e in events]
    assert types[types.index('response.created'):] == [
        'response.created', 'response.output_item.added', 'conversation.item.added',
        *['response.function_call_arguments.delta'] * types.count('response.function_call_arguments.delta'),
        'response.function_call_arguments.done', 'response.output_item.done', 'conversation.item.done',
        'response.done', 'rate_limits.updated']
    deltas = [e['delta'] for e in events if e['type'] == 'response.function_call_arguments.delta']
    done = next(e for e in events if e['type'] == 'response.function_call_arguments.done')
    assert len(deltas) > 1 and ''.join(deltas) == done['arguments']
    assert json.loads(done['arguments']) == {'city': 'Paris'} and done['name'] == 'get_weather'
    response = events[-2]['response']
    [call] = response['output']
    assert response['status'] == 'completed'
    assert call['type'] == 'function_call' and call['status'] == 'completed' and call['call_id'] == done['call_id']
    assert call['arguments'] == done['arguments']
    assert response['usage']['output_tokens'] > 0

    # the client runs the tool and sends its output; response.create continues the conversation
    start = len(harness.sent)
    harness.send({'type': 'conversation.item.create', 'item': {
        'type': 'function_call_output', 'call_id': call['call_id'], 'output': '{"sky": "sunny"}'}})
    added = events_after(harness, start)[0]
    assert added['type'] == 'conversation.item.added' and added['previous_item_id'] == call['id']
    assert added['item'] == {'id': added['item']['id'], 'object': 'realtime.item', 'type': 'function_call_output',
                             'status': 'completed', 'call_id': call['call_id'], 'output': '{"sky": "sunny"}'}
    harness.send({'type': 'response.create'})
    history = harness.work[-1].history
    assert [m.role for m in history] == ['user', 'assistant', 'tool']
    assert history[1].tool_calls == (ToolCall('get_weather', '{"city": "Paris"}', call['call_id']),)
    assert history[2].call_id == call['call_id']
    [message] = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']['output']
    assert message['content'][0]['text'] == 'get_weather says: {"sky": "sunny"}.'


def test_the_agent_is_offered_the_tools_as_tool_choice_says():
    brain = weather_brain()
    harness = harness_with(brain)
    say(harness, 'hello')
    assert brain.seen[-1][1].choice == 'auto' and brain.seen[-1][1].names() == {'get_weather', 'get_time'}
    say(harness, 'the weather please', tool_choice='none')
    assert brain.seen[-1][1].tools == ()
    last = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']
    assert [item['type'] for item in last['output']] == ['message']  # 'none': no call, even when asked


def test_required_and_named_tool_choice_are_honoured():
    harness = Harness(EngineOptions(pacing=Pacing.BURST), agent=EchoAgent())
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'tools': [WEATHER_TOOL, TIME_TOOL],
                                                        'tool_choice': 'required', 'output_modalities': ['text']}})
    say(harness, 'anything')
    [call] = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']['output']
    assert call['type'] == 'function_call' and call['name'] == 'get_weather'
    say(harness, 'anything', tool_choice={'type': 'function', 'name': 'get_time'})
    [call] = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']['output']
    assert call['name'] == 'get_time'


def test_an_agent_that_ignores_a_required_tool_fails_the_response_clearly():
    brain = ScriptedBrain()  # the echo fallback never calls anything
    harness = harness_with(brain, tool_choice='required')
    say(harness, 'hello')
    response = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']
    assert response['status'] == 'failed'
    assert 'did not call one of its tools' in response['status_details']['error']['message']


class HallucinatingAgent(EchoAgent):
    async def respond(self, history, audio, instructions=None, tools=None):
        return Reply('Let me check.', b'', (ToolCall('launch_rockets', '{}'), ToolCall('get_time', '{}')))


def test_calls_to_functions_that_were_not_offered_never_reach_the_client():
    harness = Harness(EngineOptions(pacing=Pacing.BURST), agent=HallucinatingAgent())
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'tools': [TIME_TOOL],
                                                        'output_modalities': ['text']}})
    say(harness, 'hi')
    output = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']['output']
    assert [(item['type'], item.get('name')) for item in output] == [('message', None), ('function_call', 'get_time')]
    added = [e for _, e in harness.of_type(ServerEvent.OUTPUT_ITEM_ADDED)][-2:]
    assert [e['output_index'] for e in added] == [0, 1]


def test_an_audio_reply_can_speak_and_call_in_one_response():
    harness = Harness(EngineOptions(pacing=Pacing.BURST), agent=HallucinatingAgent())
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'tools': [TIME_TOOL]}})
    say(harness, 'hi')
    types = harness.types()
    assert types.index('response.output_audio_transcript.done') < types.index('response.function_call_arguments.done')
    call_events = [e for _, e in harness.sent if e['type'].startswith('response.function_call_arguments')]
    assert all(e['output_index'] == 1 and 'content_index' not in e for e in call_events)


def test_cancel_during_the_arguments_closes_the_call_incomplete():
    harness = harness_with(options=EngineOptions(pacing=Pacing.REALTIME, word_ms=400))
    say(harness, 'weather?')
    harness.advance_to(0.15)  # the call is open, some arguments are out
    harness.send({'type': 'response.cancel'})
    sent = ''.join(e['delta'] for _, e in harness.of_type(ServerEvent.FUNCTION_CALL_ARGUMENTS_DELTA))
    done = harness.of_type(ServerEvent.FUNCTION_CALL_ARGUMENTS_DONE)[-1][1]
    response = harness.of_type(ServerEvent.RESPONSE_DONE)[-1][1]['response']
    assert response['status'] == 'cancelled' and 0 < len(sent) < len('{"city": "Paris"}')
    assert done['arguments'] == sent and response['output'][0]['status'] == 'incomplete'
    harness.advance_to(5)
    assert harness.types()[-1] == 'rate_limits.updated'  # nothing of the cancelled call came later


@pytest.mark.parametrize(('tools', 'param'), [
    ([{'type': 'mcp', 'server_label': 'x'}], 'session.tools[0].type'),
    ([{'type': 'function', 'name': 'bad name!'}], 'session.tools[0].name'),
    ([{'type': 'function', 'name': 'a', 'strict': True}], 'session.tools[0].strict'),
    ([WEATHER_TOOL, WEATHER_TOOL], 'session.tools[1].name'),
    ('get_weather', 'session.tools'),
])
def test_bad_tools_are_refused_with_the_field(tools, param):
    harness = Harness()
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'tools': tools}})
    error = harness.sent[-1][1]['error']
    assert error['param'] == param, error


def test_a_named_tool_choice_must_name_an_offered_tool():
    harness = harness_with()
    harness.send({'type': 'session.update', 'session': {
        'type': 'realtime', 'tool_choice': {'type': 'function', 'name': 'nope'}}})
    assert harness.sent[-1][1]['error']['param'] == 'session.tool_choice'
    say(harness, 'hi', tool_choice={'type': 'function', 'name': 'nope'})
    assert [e for _, e in harness.sent if e['type'] == 'error'][-1]['error']['param'] == 'response.tool_choice'
    harness.send({'type': 'response.create', 'response': {'tool_choice': 'sometimes'}})
    assert harness.sent[-1][1]['error']['code'] == 'invalid_value'
