"""Every GA client event, with valid but unusual values, sent by openai-python's own Realtime client to the
embedded server: each server event is checked strictly against the GA types, each refusal names its field and
echoes the client event's `event_id`, and the SDK's own parser accepts what came back."""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
from openai import AsyncOpenAI

from tests.local_realtime.serving import API_KEY, pcm_of, serve, silence
from tests.protocol_validation import validate_server_event
from voice_ui.local_realtime.faults import Faults
from voice_ui.local_realtime.g711 import encoder
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing

PNG = 'data:image/png;base64,iVBORw0KGgo='
TOOL = {'type': 'function', 'name': 'lookup', 'description': 'Look a word up.',
        'parameters': {'type': 'object', 'properties': {'word': {'type': 'string'}}}}
EVERY_FIELD = {
    'type': 'realtime', 'instructions': 'Be brief.', 'output_modalities': ['text'], 'tools': [TOOL],
    'tool_choice': 'auto', 'max_output_tokens': 'inf', 'parallel_tool_calls': True,
    'truncation': {'type': 'retention_ratio', 'retention_ratio': 0.5, 'token_limits': {'post_instructions': 900}},
    'prompt': {'id': 'pmpt_abc', 'version': '2', 'variables': {'city': 'Paris'}}, 'tracing': 'auto',
    'include': ['item.input_audio_transcription.logprobs'], 'reasoning': {'effort': 'low'},
    'audio': {'input': {'format': {'type': 'audio/pcmu'}, 'turn_detection': None, 'noise_reduction': {
        'type': 'far_field'}, 'transcription': {'model': 'gpt-4o-mini-transcribe', 'language': 'en', 'prompt': 'x'}},
        'output': {'format': {'type': 'audio/pcma'}, 'voice': 'marin', 'speed': 1.25}}}


@pytest.fixture(scope='module')
def served():
    config = LocalRealtimeConfig(api_keys={API_KEY}, engine=EngineOptions(pacing=Pacing.BURST),
                                 allow_fault_endpoints=True)
    with serve(config) as served:
        yield served


class Driver:
    def __init__(self, connection) -> None:
        self.connection, self.seen = connection, []

    async def next(self) -> dict:
        raw = await asyncio.wait_for(self.connection.recv_bytes(), 30)
        event = json.loads(raw)
        validate_server_event(event)  # strictly, with a real discriminator (PROTOCOL.md §6)
        self.seen.append(event)
        return event

    async def until(self, event_type: str) -> dict:
        while (event := await self.next())['type'] != event_type:
            assert event['type'] != 'error', event
        return event

    async def refused(self, event_id: str, code: str | None = None, param: str | None = None) -> dict:
        """The error answering the client event `event_id` (nothing else may be an error meanwhile)."""
        while (event := await self.next())['type'] != 'error':
            pass
        error = event['error']
        assert error['event_id'] == event_id, error
        assert code is None or error['code'] == code, error
        assert param is None or error['param'] == param, error
        return error


def client(base_url: str) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=base_url, websocket_base_url=base_url.replace('http', 'ws', 1))


async def test_every_session_field_buffer_and_item_event(served):
    async with client(served.url).realtime.connect(model='gpt-realtime') as connection:
        rt = Driver(connection)
        assert (await rt.next())['type'] == 'session.created'
        await connection.session.update(session=EVERY_FIELD, event_id='ev_session')
        session = (await rt.until('session.updated'))['session']
        for key in ('truncation', 'prompt', 'include', 'reasoning', 'tools', 'max_output_tokens'):
            assert session[key] == EVERY_FIELD[key], key
        assert session['audio']['input']['format'] == {'type': 'audio/pcmu'}
        await connection.session.update(session={'type': 'realtime', 'audio': None, 'output_modalities': None,
                                                 'tools': None, 'max_output_tokens': None}, event_id='ev_nulls')
        kept = (await rt.until('session.updated'))['session']  # null keeps what a session cannot be without
        assert kept['output_modalities'] == ['text'] and kept['audio'] == session['audio'], kept

        await connection.input_audio_buffer.commit(event_id='ev_commit_empty')
        await rt.refused('ev_commit_empty', 'input_audio_buffer_commit_empty')
        await connection.input_audio_buffer.clear(event_id='ev_clear_empty')
        await rt.until('input_audio_buffer.cleared')
        await connection.output_audio_buffer.clear(event_id='ev_output_clear')  # WebRTC/SIP only in GA
        await rt.refused('ev_output_clear')
        mulaw = encoder({'type': 'audio/pcmu'})(pcm_of('weather') + silence(200))
        await connection.input_audio_buffer.append(audio=base64.b64encode(mulaw).decode())
        await connection.input_audio_buffer.commit(event_id='ev_commit')
        committed = await rt.until('input_audio_buffer.committed')
        await rt.until('conversation.item.input_audio_transcription.completed')

        item = connection.conversation.item
        await item.create(previous_item_id='root', event_id='ev_root', item={
            'type': 'message', 'role': 'system', 'content': [{'type': 'input_text', 'text': 'Answer in French.'}]})
        first = await rt.until('conversation.item.added')
        assert first['previous_item_id'] is None
        await item.create(previous_item_id='item_nowhere', event_id='ev_lost', item={
            'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'x'}]})
        await rt.refused('ev_lost', param='previous_item_id')
        await item.create(previous_item_id=first['item']['id'], item={
            'id': 'img_1', 'type': 'message', 'role': 'user', 'content': [
                {'type': 'input_text', 'text': 'What is this?'}, {'type': 'input_image', 'image_url': PNG}]})
        placed = await rt.until('conversation.item.added')
        assert placed['previous_item_id'] == first['item']['id'] and placed['item']['content'][1]['image_url'] == PNG
        await item.create(item={'id': 'said_1', 'type': 'message', 'role': 'user', 'content': [
            {'type': 'input_audio', 'audio': base64.b64encode(mulaw).decode(), 'transcript': 'the weather'}]})
        await rt.until('conversation.item.done')
        await item.create(item={'type': 'function_call', 'call_id': 'call_1', 'name': 'lookup', 'arguments': '{}'})
        await rt.until('conversation.item.done')
        await item.create(item={'type': 'function_call_output', 'call_id': 'call_1', 'output': '{"ok": true}'})
        await rt.until('conversation.item.done')

        await item.retrieve(item_id='said_1', event_id='ev_retrieve')
        retrieved = (await rt.until('conversation.item.retrieved'))['item']
        assert retrieved['content'][0]['audio'] and retrieved['content'][0]['transcript'] == 'the weather'
        await item.retrieve(item_id='item_nowhere', event_id='ev_retrieve_lost')
        await rt.refused('ev_retrieve_lost', 'item_retrieve_invalid_item_id', 'item_id')
        await item.truncate(item_id=committed['item_id'], content_index=0, audio_end_ms=0, event_id='ev_trunc_user')
        await rt.refused('ev_trunc_user', param='item_id')
        await item.delete(item_id='item_nowhere', event_id='ev_delete_lost')
        await rt.refused('ev_delete_lost', 'item_delete_invalid_item_id', 'item_id')
        await item.delete(item_id='img_1', event_id='ev_delete')
        assert (await rt.until('conversation.item.deleted'))['item_id'] == 'img_1'


async def test_every_response_variant_and_cancel(served):
    async with client(served.url).realtime.connect(model='gpt-realtime') as connection:
        rt = Driver(connection)
        await rt.until('session.created')
        await connection.session.update(session={'type': 'realtime', 'audio': {'input': {'turn_detection': None}}})
        await rt.until('session.updated')
        await connection.response.cancel(event_id='ev_cancel_idle')
        await rt.refused('ev_cancel_idle', 'response_cancel_not_active')
        await connection.response.cancel(response_id='resp_nowhere', event_id='ev_cancel_unknown')
        await rt.refused('ev_cancel_unknown')
        await connection.conversation.item.create(item={'id': 'q_1', 'type': 'message', 'role': 'user', 'content': [
            {'type': 'input_text', 'text': 'hello there'}]})
        await rt.until('conversation.item.done')

        await connection.response.create(event_id='ev_oob', response={
            'conversation': 'none', 'metadata': {'purpose': 'summary'}, 'output_modalities': ['text'],
            'max_output_tokens': 'inf', 'tools': [TOOL], 'tool_choice': 'none', 'instructions': None,
            'input': [{'type': 'item_reference', 'id': 'q_1'},
                      {'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'and this'}]}]})
        done = (await rt.until('response.done'))['response']
        assert done['conversation_id'] is None and done['metadata'] == {'purpose': 'summary'}, done
        assert not [e for e in rt.seen if e['type'].startswith('conversation.item') and e.get('item', {}).get(
            'role') == 'assistant'], 'an out-of-band response joined the conversation'
        await connection.response.create(event_id='ev_bad_ref', response={
            'input': [{'type': 'item_reference', 'id': 'item_nowhere'}]})
        await rt.refused('ev_bad_ref', param='response.input[0].id')
        await connection.response.create(response={'output_modalities': ['audio'], 'audio': {
            'output': {'format': {'type': 'audio/pcmu'}, 'voice': 'cedar'}}, 'max_output_tokens': 4096})
        spoken = (await rt.until('response.done'))['response']
        assert spoken['status'] == 'completed' and spoken['audio']['output']['format'] == {'type': 'audio/pcmu'}

        served.server.config.faults.replace_with(Faults(reply_delay_ms=3000))
        try:
            await connection.response.create(event_id='ev_slow')
            created = (await rt.until('response.created'))['response']
            await connection.response.create(event_id='ev_second')
            await rt.refused('ev_second', 'conversation_already_has_active_response')
            await connection.response.cancel(response_id='resp_another', event_id='ev_cancel_other')
            await rt.refused('ev_cancel_other', 'response_cancel_not_active', 'response_id')  # not the active one
            await connection.response.cancel(response_id=created['id'], event_id='ev_cancel')
            cancelled = (await rt.until('response.done'))['response']
            assert cancelled['id'] == created['id'] and cancelled['status'] == 'cancelled', cancelled
        finally:
            served.server.config.faults.replace_with(Faults())
        # the SDK's own (lenient) parser reads the same stream
        await connection.conversation.item.retrieve(item_id='q_1')
        parsed = await asyncio.wait_for(connection.recv(), 30)
        while parsed.type == 'rate_limits.updated':
            parsed = await asyncio.wait_for(connection.recv(), 30)
        assert parsed.type == 'conversation.item.retrieved' and parsed.item.id == 'q_1'
