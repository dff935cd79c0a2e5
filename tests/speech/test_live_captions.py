"""Recognition while the user speaks (voice_ui/speech/live.py): the turn so far is re-decoded as it grows, words
two decodes agree on are shown at once and never twice, the turn is decoded whole at a pause, and a commit after
that pause takes the pause's text without decoding again. Unit tests with a scripted recognizer, a hypothesis
test of the agreement policy, and captions over a real WebSocket with the real models."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.local_realtime.serving import API_KEY, MANUAL_SESSION, open_session, serve
from voice_ui.local_realtime.server_config import EngineOptions, LocalRealtimeConfig, Pacing
from voice_ui.local_realtime.server_conversation import agreement
from voice_ui.local_realtime.streamed_work import Captions
from voice_ui.protocol import BYTES_PER_MS, ServerEvent
from voice_ui.speech.agent import SpeechAgent
from voice_ui.speech.brains import EchoBrain
from voice_ui.speech.live import MAX_INTERIM_BYTES, MAX_ITEMS, HeardItem, Span
from voice_ui.speech.models import ModelCache
from voice_ui.speech.wer import word_error_rate

from .test_speech_models import MAX_WER

WORDS = 'set a timer for ten minutes please and then turn on the lights'.split()


def sound(ms: int) -> bytes:
    t = np.arange(ms * 24) / 24_000
    return (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype('<i2').tobytes()


def silence(ms: int) -> bytes:
    return bytes(ms * 48)


class ScriptedRecognizer:
    """Hears one word per 150 ms of sound in what it is given (so a growing turn gives growing, agreeing
    hypotheses); counts its decodes by kind."""

    def __init__(self, busy: bool = False, interim_unsure: bool = False) -> None:
        self.busy, self.interim_unsure = busy, interim_unsure
        self.decoded: list[tuple[str, int]] = []  # (kind, bytes)

    def heard(self, pcm: bytes) -> str:
        samples = np.abs(np.frombuffer(pcm, '<i2')[:len(pcm) // 240 * 120].astype(np.float32))
        loud_ms = 5 * int(np.sum(samples.reshape(-1, 120).max(axis=1) > 1000))  # 5 ms blocks with sound
        return ' '.join(WORDS[:int(loud_ms // 150)])

    def transcribe(self, pcm: bytes, language=None, prompt=None, short=None) -> str:
        self.decoded.append(('short' if short else 'full', len(pcm)))
        return self.heard(pcm)

    def interim(self, pcm: bytes, language=None, prompt=None) -> str | None:
        self.decoded.append(('interim', len(pcm)))
        return None if self.interim_unsure else self.heard(pcm)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.decoded]


def agent_with(recognizer, live: str = '1') -> SpeechAgent:
    agent = SpeechAgent(brain=EchoBrain(), models=ModelCache(), environ={'VOICE_UI_SPEECH_LIVE': live})
    agent._models._models[('whisper', agent.whisper_source.value)] = recognizer
    return agent


async def feed(agent: SpeechAgent, item_id: str, audio: bytes, chunk_ms: int = 100) -> list[tuple[int, str]]:
    """Append as a real-time client does, one chunk after the other; returns (ms of audio sent, caption)."""
    captions, step = [], chunk_ms * BYTES_PER_MS
    for start in range(0, len(audio), step):
        async for caption in agent.hear(item_id, audio[start:start + step], 'en', None):
            captions.append(((start + step) // BYTES_PER_MS, caption))
    return captions


async def test_captions_grow_while_the_user_speaks_and_the_commit_after_a_pause_decodes_nothing():
    recognizer = ScriptedRecognizer()
    agent = agent_with(recognizer)
    turn = silence(300) + sound(1500) + silence(600)
    captions = await feed(agent, 'item_a', turn)
    during_speech = [caption for at, caption in captions if at <= 1800]
    assert len(during_speech) >= 2, captions  # several captions before the speech ended
    shown = ''.join(caption for _, caption in captions)
    assert shown == ' '.join(WORDS[:10])      # 1.5 s of sound: ten words, each shown once, in order
    assert 'interim' in recognizer.kinds() and recognizer.kinds()[-1] == 'short'  # the pause: short window
    decodes = len(recognizer.decoded)
    assert await agent.transcribe_item('item_a', turn, 'en', None) == ' '.join(WORDS[:10])
    assert len(recognizer.decoded) == decodes  # the commit took the pause's decode
    assert agent.hearing.counts.commits_ready == 1 and agent.hearing.counts.commits_decoded == 0


async def test_speech_after_the_pause_is_decoded_whole_at_commit_with_the_configured_window():
    recognizer = ScriptedRecognizer()
    agent = agent_with(recognizer)
    turn = silence(300) + sound(800) + silence(500) + sound(700) + silence(100)  # still speaking at commit
    await feed(agent, 'item_b', turn)
    assert await agent.transcribe_item('item_b', turn, 'en', None) == ' '.join(WORDS[:10])
    assert recognizer.decoded[-1] == ('full', len(turn))  # one decode of everything, nothing stitched


async def test_without_live_captions_only_pauses_are_decoded():
    recognizer = ScriptedRecognizer()
    agent = agent_with(recognizer, live='0')
    turn = silence(300) + sound(1500) + silence(600)
    captions = await feed(agent, 'item_c', turn)
    assert recognizer.kinds() == ['short']  # no interim decodes; the pause's decode still comes before the commit
    assert [caption for _, caption in captions] == [' '.join(WORDS[:10])]
    assert await agent.transcribe_item('item_c', turn, 'en', None) == ' '.join(WORDS[:10])
    assert recognizer.kinds() == ['short']


async def test_interim_decodes_wait_while_the_recognizer_is_busy_and_an_unsure_guess_shows_nothing():
    busy = ScriptedRecognizer(busy=True)
    await feed(agent_with(busy), 'item_d', silence(300) + sound(1500) + silence(600))
    assert busy.kinds() == ['short']  # another session's decode comes first; the pause is still decoded
    unsure = ScriptedRecognizer(interim_unsure=True)
    captions = await feed(agent_with(unsure), 'item_e', silence(300) + sound(1500) + silence(600))
    assert 'interim' in unsure.kinds() and [c for _, c in captions] == [' '.join(WORDS[:10])]


async def test_a_turn_longer_than_the_short_window_gets_captions_at_pauses_only():
    recognizer = ScriptedRecognizer()
    agent = agent_with(recognizer)
    long_turn = sound(MAX_INTERIM_BYTES // BYTES_PER_MS + 1000)
    await feed(agent, 'item_f', long_turn, chunk_ms=500)
    assert all(size <= MAX_INTERIM_BYTES for _, size in recognizer.decoded)


async def test_a_commit_that_differs_from_what_was_heard_is_decoded_whole():
    recognizer = ScriptedRecognizer()
    agent = agent_with(recognizer)
    await feed(agent, 'item_g', silence(200) + sound(900) + silence(600))
    other = sound(450) + silence(100)  # e.g. a client that cleared and re-sent different audio
    assert await agent.transcribe_item('item_g', other, None, None) == ' '.join(WORDS[:3])
    assert recognizer.decoded[-1] == ('full', len(other))


async def test_items_never_committed_age_out():
    agent = agent_with(ScriptedRecognizer())
    for index in range(MAX_ITEMS + 20):
        async for _ in agent.hear(f'item_{index}', silence(100), None, None):
            pass
    assert len(agent.hearing.items) == MAX_ITEMS


def test_only_words_two_decodes_agree_on_are_shown():
    heard = HeardItem()
    interim = Span(0, 1, False)
    assert heard.decoded(interim, 'Please turn it.') == ''          # one guess: nothing yet
    assert heard.decoded(interim, 'Please turn on the key.') == 'Please turn'
    assert heard.decoded(interim, 'Place turn on the kitchen.') == ''  # contradicts what is shown: wait
    assert heard.decoded(interim, 'Please turn on the kitchen light') == ' on the kitchen'
    assert heard.decoded(Span(0, 2, True), 'Please turn on the kitchen lights.') == ' lights'  # a pause: all
    assert heard.shown == 'Please turn on the kitchen lights.'.split()


def test_the_last_word_shown_keeps_its_punctuation_back_until_more_is_heard():
    heard = HeardItem()
    interim = Span(0, 1, False)
    heard.decoded(interim, 'Hello world.')
    assert heard.decoded(interim, 'Hello world.') == 'Hello world'   # not "world." yet: it may become "world,"
    heard.decoded(interim, 'Hello world, what is the world?')
    assert heard.decoded(interim, 'Hello world, what is the weather') == ', what is the'
    captions = Captions()
    captions.add('item_1', 'Hello world')
    captions.add('item_1', ', what is the')
    final = 'Hello world, what is the weather today?'
    assert 'Hello world, what is the' + captions.remainder('item_1', final) == final


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(['set', 'Set', 'a', 'the', 'timer', 'timer.', '10', '-', '']),
                                   max_size=8).map(' '.join), st.booleans()), max_size=12))
def test_captions_are_append_only_and_each_word_is_shown_once(hypotheses):
    heard, captions = HeardItem(), Captions()
    for index, (text, settled) in enumerate(hypotheses):
        shown_before = list(heard.shown)
        sent_before = captions.sent.get('item', '')
        caption = heard.decoded(Span(0, index + 1, settled), text)
        if caption:
            captions.add('item', caption)
        assert heard.shown[:len(shown_before)] == shown_before  # nothing taken back
        new = heard.shown[len(shown_before):]
        assert new == text.split()[len(shown_before):len(heard.shown)]  # the words of this decode, in place
        assert bool(caption) == bool(new)
        assert captions.sent.get('item', '').startswith(sent_before)  # append-only
        assert agreement(captions.sent.get('item', '').split(), heard.shown) == len(heard.shown)
    sent = captions.sent.get('item', '')
    # A final text that keeps the words as sent (the last with its punctuation as decoded) and says one more: the
    # deltas add up to it exactly (a final that changed a sent word's punctuation is `completed`'s to correct).
    final = ' '.join(sent.split()[:-1] + heard.shown[-1:] + ['done.'])
    assert sent + captions.remainder('item', final) == final


def test_the_final_text_continues_the_captions_word_by_word():
    captions = Captions()
    captions.add('item_1', 'Hello world.')
    assert captions.remainder('item_1', 'Hello world, what is the weather?') == ' what is the weather?'
    captions.add('item_4', 'Hello world')  # its punctuation held back
    assert captions.remainder('item_4', 'Hello world, what?') == ', what?'
    captions.add('item_2', 'Set it')
    assert captions.remainder('item_2', 'Set a timer.') == ''  # shown words changed: `completed` corrects them
    assert captions.remainder('item_3', 'Nothing shown yet.') == 'Nothing shown yet.'
    assert agreement(['Hello', 'world.'], ['hello', 'world,', 'what']) == 2


@pytest.fixture(scope='module')
def live_server(speech_ready):
    agent = SpeechAgent(brain=EchoBrain())  # live captions are on by default
    with serve(LocalRealtimeConfig(api_keys={API_KEY}, agent=agent,
                                   engine=EngineOptions(pacing=Pacing.BURST))) as served:
        yield served


@pytest.mark.parametrize('mode', ['manual', 'server_vad'])
async def test_captions_arrive_while_the_user_speaks(live_server, utterances, mode):
    weather = utterances[0]
    session = MANUAL_SESSION if mode == 'manual' else {
        **MANUAL_SESSION, 'audio': {'input': {**MANUAL_SESSION['audio']['input'], 'turn_detection': {
            'type': 'server_vad', 'silence_duration_ms': 1500, 'create_response': False}}}}
    client = await open_session(live_server.url, session)
    reader = asyncio.create_task(read_all(client))
    try:
        speech = silence(300) + weather.pcm24
        for start in range(0, len(speech), 100 * BYTES_PER_MS):  # at half real-time pace: CI may decode slowly
            await client.append(speech[start:start + 100 * BYTES_PER_MS])
            await asyncio.sleep(0.2)
        during_speech = [e['delta'] for e in client.seen if e['type'] == ServerEvent.INPUT_TRANSCRIPTION_DELTA]
        assert during_speech, 'no caption while the user was still speaking'
        await client.append(silence(400))  # the pause after speaking: the turn is decoded whole
        await until_seen(client, lambda e: e['type'] == ServerEvent.INPUT_TRANSCRIPTION_DELTA
                         and ''.join(d['delta'] for d in deltas(client)).count(' ') >= 5)
        assert not any(e['type'] == ServerEvent.INPUT_AUDIO_COMMITTED for e in client.seen)  # before the commit
        item_id = deltas(client)[0]['item_id']
        if mode == 'server_vad':
            [started] = [e for e in client.seen if e['type'] == ServerEvent.SPEECH_STARTED]
            assert started['item_id'] == item_id  # the item the client was told about
            await client.append(silence(1600))
        else:
            await client.send({'type': 'input_audio_buffer.commit'})
        completed = await until_seen(client, lambda e: e['type'] == ServerEvent.INPUT_TRANSCRIPTION_COMPLETED)
        [committed] = [e for e in client.seen if e['type'] == ServerEvent.INPUT_AUDIO_COMMITTED]
        assert committed['item_id'] == item_id == completed['item_id']
        assert all(delta['item_id'] == item_id for delta in deltas(client))
        assert word_error_rate(weather.text, completed['transcript']) <= MAX_WER, completed['transcript']
        final = completed['transcript'].split()  # the captions are its words (punctuation may differ)
        assert agreement(''.join(d['delta'] for d in deltas(client)).split(), final) == len(final)
    finally:
        reader.cancel()
        await client.connection.close()
        await asyncio.sleep(0)


def deltas(client) -> list[dict]:
    return [e for e in client.seen if e['type'] == ServerEvent.INPUT_TRANSCRIPTION_DELTA]


async def read_all(client) -> None:
    while True:
        await client.recv(timeout=300)  # each lands in client.seen, validated against the GA types


async def until_seen(client, wanted, timeout: float = 60) -> dict:
    for _ in range(int(timeout * 20)):
        found = next((e for e in client.seen if wanted(e)), None)
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f'not seen in {timeout} s: {[e["type"] for e in client.seen]}')
