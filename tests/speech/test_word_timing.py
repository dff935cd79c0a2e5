"""Word timing from piper's sentence chunks, and truncation that keeps what was heard."""
from __future__ import annotations

from voice_ui.local_realtime.server_agent import Message
from voice_ui.local_realtime.server_conversation import Item, truncate
from voice_ui.protocol import BYTES_PER_MS
from voice_ui.speech.wer import word_error_rate
from voice_ui.speech.word_timing import word_ends_ms


def test_word_ends_follow_each_sentences_phonemes():
    chunks = [(list('ab cd'), 1000), (list('efgh'), 3000)]  # 'ab cd' then one word over 3000 samples
    assert word_ends_ms('Ab cd. Efgh.', chunks, 1000) == (400, 1000, 4000)
    assert word_ends_ms('Only two', chunks, 1000) is None  # cannot be matched: no timing, not a guess


async def test_truncating_spoken_audio_keeps_the_words_that_were_heard(speech_agent):
    reply = await speech_agent.respond([Message('user', 'set a timer for ten minutes and then call my sister')], b'')
    assert reply.word_ends_ms is not None and len(reply.word_ends_ms) == len(reply.text.split())
    cut_ms = (reply.word_ends_ms[4] + reply.word_ends_ms[5]) // 2  # inside the sixth word
    item = Item('item_a', 'assistant', audio_part=True, text=reply.text, audio=reply.audio,
                word_ends_ms=reply.word_ends_ms)
    truncate(item, cut_ms, 0)
    assert item.text == ' '.join(reply.text.split()[:5])
    assert len(item.audio) == cut_ms * BYTES_PER_MS
    heard = await speech_agent.transcribe(item.audio, 'en', None)
    assert word_error_rate(item.text, heard) <= 0.4, (item.text, heard)
