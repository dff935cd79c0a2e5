"""Full turns over a real socket: manual, VAD, text, cancel, truncate, delete — every event validated."""
from __future__ import annotations

import base64

import pytest

from voice_ui.local_realtime.server_agent import EchoAgent
from voice_ui.protocol import ResponseStatus, ServerEvent

from .serving import open_session, pcm_of, silence

RESPONSE_ENVELOPE = [ServerEvent.RESPONSE_CREATED, ServerEvent.OUTPUT_ITEM_ADDED, ServerEvent.ITEM_ADDED,
                     ServerEvent.CONTENT_PART_ADDED]
RESPONSE_CLOSING = [ServerEvent.OUTPUT_AUDIO_DONE, ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE,
                    ServerEvent.CONTENT_PART_DONE, ServerEvent.OUTPUT_ITEM_DONE, ServerEvent.ITEM_DONE,
                    ServerEvent.RESPONSE_DONE, ServerEvent.RATE_LIMITS_UPDATED]
DELTAS = {ServerEvent.OUTPUT_AUDIO_DELTA, ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DELTA}


def of_type(events: list[dict], event_type: str) -> list[dict]:
    return [e for e in events if e['type'] == event_type]


async def test_manual_turn_follows_the_ga_sequence(base_url):
    client = await open_session(base_url)
    audio = pcm_of('lights')
    await client.append(audio)
    await client.send({'type': 'input_audio_buffer.commit'})
    committed = await client.recv()
    assert committed['type'] == ServerEvent.INPUT_AUDIO_COMMITTED and committed['previous_item_id'] is None
    user_added, user_done = await client.recv(), await client.recv()
    assert [user_added['type'], user_done['type']] == [ServerEvent.ITEM_ADDED, ServerEvent.ITEM_DONE]
    assert user_added['item']['id'] == committed['item_id'] and user_added['item']['role'] == 'user'
    assert user_added['item']['content'][0]['type'] == 'input_audio'
    transcription = await client.until(ServerEvent.INPUT_TRANSCRIPTION_COMPLETED)
    completed = transcription[-1]
    deltas = of_type(transcription, ServerEvent.INPUT_TRANSCRIPTION_DELTA)
    assert deltas and ''.join(d['delta'] for d in deltas) == completed['transcript']
    assert completed['transcript'] == await EchoAgent().transcribe(audio, 'en', None)
    assert completed['usage']['input_tokens'] == -(-len(audio) // 4800)  # 1 token per 100 ms, rounded up

    await client.send({'type': 'response.create'})
    events = await client.until(ServerEvent.RATE_LIMITS_UPDATED)
    envelope = [e['type'] for e in events if e['type'] not in DELTAS]
    assert envelope == RESPONSE_ENVELOPE + RESPONSE_CLOSING
    response_id = events[0]['response']['id']
    assert events[0]['response']['status'] == ResponseStatus.IN_PROGRESS
    assistant = events[1]['item']
    assert events[2]['previous_item_id'] == committed['item_id']
    audio_deltas = of_type(events, ServerEvent.OUTPUT_AUDIO_DELTA)
    text_deltas = of_type(events, ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DELTA)
    for delta in audio_deltas + text_deltas:
        assert (delta['response_id'], delta['item_id'], delta['output_index'], delta['content_index']) == \
            (response_id, assistant['id'], 0, 0)
    played = b''.join(base64.b64decode(d['delta']) for d in audio_deltas)
    assert played == audio  # the echo agent plays the person's own voice back
    assert all(len(base64.b64decode(d['delta'])) <= 4800 for d in audio_deltas)  # at most 100 ms each
    kinds = [e['type'] for e in events if e['type'] in DELTAS]
    assert kinds.index(ServerEvent.OUTPUT_AUDIO_DELTA) < len(kinds) - kinds[::-1].index(
        ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DELTA) - 1, 'transcript and audio deltas are interleaved'
    transcript = of_type(events, ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE)[0]['transcript']
    assert ''.join(d['delta'] for d in text_deltas) == transcript
    done = of_type(events, ServerEvent.RESPONSE_DONE)[0]['response']
    assert done['status'] == ResponseStatus.COMPLETED and done['output'][0]['id'] == assistant['id']
    assert done['output'][0]['content'][0] == {'type': 'output_audio', 'transcript': transcript}
    usage = done['usage']
    assert usage['output_token_details']['audio_tokens'] == -(-len(played) // 2400)   # 1 token per 50 ms
    assert usage['input_token_details']['audio_tokens'] == -(-len(audio) // 4800)     # 1 token per 100 ms
    assert usage['total_tokens'] == usage['input_tokens'] + usage['output_tokens']
    await client.connection.close()


async def test_server_vad_turn_commits_and_answers_by_itself(base_url):
    client = await open_session(base_url, {'type': 'realtime'})  # default turn detection: server_vad
    speech = pcm_of('weather')
    await client.append(silence(1000) + speech + silence(1500))
    events = await client.until(ServerEvent.RESPONSE_DONE)
    started, stopped = of_type(events, ServerEvent.SPEECH_STARTED)[0], of_type(events, ServerEvent.SPEECH_STOPPED)[0]
    committed = of_type(events, ServerEvent.INPUT_AUDIO_COMMITTED)[0]
    assert started['item_id'] == stopped['item_id'] == committed['item_id']
    assert 600 <= started['audio_start_ms'] <= 1100   # speech begins after 1 s of padding, minus 300 ms prefix
    speech_end_ms = 1000 + len(speech) // 48
    assert speech_end_ms <= stopped['audio_end_ms'] <= speech_end_ms + 1000
    order = [e['type'] for e in events]
    assert order.index(ServerEvent.SPEECH_STOPPED) < order.index(ServerEvent.INPUT_AUDIO_COMMITTED) \
        < order.index(ServerEvent.RESPONSE_CREATED)
    played = b''.join(base64.b64decode(d['delta']) for d in of_type(events, ServerEvent.OUTPUT_AUDIO_DELTA))
    assert abs(len(played) // 48 - (stopped['audio_end_ms'] - started['audio_start_ms'])) <= 20
    assert of_type(events, ServerEvent.RESPONSE_DONE)[0]['response']['status'] == ResponseStatus.COMPLETED
    await client.connection.close()


async def test_text_item_gets_a_text_only_spoken_reply(base_url):
    client = await open_session(base_url)
    await client.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'hello there'}]}})
    added, done = await client.recv(), await client.recv()
    assert added['type'] == ServerEvent.ITEM_ADDED and done['type'] == ServerEvent.ITEM_DONE
    assert added['item']['content'] == [{'type': 'input_text', 'text': 'hello there'}]
    await client.send({'type': 'response.create'})
    events = await client.until(ServerEvent.RESPONSE_DONE)
    assert not of_type(events, ServerEvent.OUTPUT_AUDIO_DELTA)
    transcript = of_type(events, ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DONE)[0]['transcript']
    assert transcript.endswith('hello there')
    await client.connection.close()


async def test_text_modality_streams_output_text(base_url):
    client = await open_session(base_url, {'type': 'realtime', 'output_modalities': ['text'],
                                           'audio': {'input': {'turn_detection': None}}})
    await client.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'write'}]}})
    await client.until(ServerEvent.ITEM_DONE)
    await client.send({'type': 'response.create'})
    events = await client.until(ServerEvent.RESPONSE_DONE)
    text = of_type(events, ServerEvent.OUTPUT_TEXT_DONE)[0]['text']
    assert ''.join(d['delta'] for d in of_type(events, ServerEvent.OUTPUT_TEXT_DELTA)) == text
    assert not of_type(events, ServerEvent.OUTPUT_AUDIO_DELTA)
    await client.connection.close()


async def completed_audio_turn(client) -> tuple[str, int]:
    """One manual turn; returns the assistant item id and how many ms of audio it sent."""
    await client.append(pcm_of('timer'))
    await client.send({'type': 'input_audio_buffer.commit'})
    await client.send({'type': 'response.create'})
    events = await client.until(ServerEvent.RESPONSE_DONE)
    await client.until(ServerEvent.RATE_LIMITS_UPDATED)
    sent = sum(len(base64.b64decode(d['delta'])) for d in of_type(events, ServerEvent.OUTPUT_AUDIO_DELTA))
    return of_type(events, ServerEvent.OUTPUT_ITEM_ADDED)[0]['item']['id'], sent // 48


async def test_cancel_mid_response_reports_cancelled(base_url, faults):
    faults.reply_delay_ms = 400  # the response is surely still active when the cancel arrives
    client = await open_session(base_url)
    await client.append(pcm_of('timer'))
    await client.send({'type': 'input_audio_buffer.commit'})
    await client.send({'type': 'response.create'})
    await client.until(ServerEvent.RESPONSE_CREATED)
    await client.send({'type': 'response.cancel', 'event_id': 'cancel-1'})
    events = await client.until(ServerEvent.RESPONSE_DONE)
    done = events[-1]['response']
    assert done['status'] == ResponseStatus.CANCELLED
    assert done['status_details'] == {'type': 'cancelled', 'reason': 'client_cancelled'}
    assert not of_type(events, ServerEvent.OUTPUT_AUDIO_DELTA)
    assert (await client.recv())['type'] == ServerEvent.RATE_LIMITS_UPDATED
    # The session goes on: a new response completes.
    faults.reply_delay_ms = 0
    await client.send({'type': 'response.create'})
    events = await client.until(ServerEvent.RESPONSE_DONE)
    assert events[-1]['response']['status'] == ResponseStatus.COMPLETED
    await client.connection.close()


async def test_truncate_within_and_beyond_the_audio_sent(base_url):
    client = await open_session(base_url)
    item_id, sent_ms = await completed_audio_turn(client)
    await client.send({'type': 'conversation.item.truncate', 'item_id': item_id, 'content_index': 0,
                       'audio_end_ms': sent_ms + 1, 'event_id': 'too-far'})
    error = await client.expect_error('invalid_value')
    assert error['event_id'] == 'too-far' and error['param'] == 'audio_end_ms'
    await client.send({'type': 'conversation.item.truncate', 'item_id': item_id, 'content_index': 0,
                       'audio_end_ms': 500})
    truncated = await client.recv()
    assert truncated['type'] == ServerEvent.ITEM_TRUNCATED
    assert (truncated['item_id'], truncated['audio_end_ms'], truncated['content_index']) == (item_id, 500, 0)
    await client.send({'type': 'conversation.item.truncate', 'item_id': 'item_nope', 'content_index': 0,
                       'audio_end_ms': 0, 'event_id': 'missing'})
    assert (await client.expect_error('item_truncate_invalid_item_id'))['event_id'] == 'missing'
    await client.connection.close()


async def test_delete_item(base_url):
    client = await open_session(base_url)
    item_id, _ = await completed_audio_turn(client)
    await client.send({'type': 'conversation.item.delete', 'item_id': item_id})
    deleted = await client.recv()
    assert deleted['type'] == ServerEvent.ITEM_DELETED and deleted['item_id'] == item_id
    await client.send({'type': 'conversation.item.delete', 'item_id': item_id, 'event_id': 'again'})
    assert (await client.expect_error('item_delete_invalid_item_id'))['event_id'] == 'again'
    await client.connection.close()


async def test_clear_empties_the_buffer(base_url):
    client = await open_session(base_url)
    await client.append(silence(500))
    await client.send({'type': 'input_audio_buffer.clear'})
    assert (await client.recv())['type'] == ServerEvent.INPUT_AUDIO_CLEARED
    await client.send({'type': 'input_audio_buffer.commit', 'event_id': 'after-clear'})
    assert (await client.expect_error('input_audio_buffer_commit_empty'))['event_id'] == 'after-clear'
    await client.connection.close()


@pytest.mark.parametrize('pcm_ms', [0, 99])
async def test_commit_under_100_ms_is_empty(base_url, pcm_ms):
    client = await open_session(base_url)
    if pcm_ms:
        await client.append(silence(pcm_ms))
    await client.send({'type': 'input_audio_buffer.commit', 'event_id': 'short'})
    assert (await client.expect_error('input_audio_buffer_commit_empty'))['event_id'] == 'short'
    await client.append(silence(100))
    await client.send({'type': 'input_audio_buffer.commit'})
    assert (await client.recv())['type'] == ServerEvent.INPUT_AUDIO_COMMITTED
    await client.connection.close()
