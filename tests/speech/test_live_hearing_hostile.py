"""Live hearing (voice_ui/speech/live.py) against hostile input: audio of any size and kind, and a recognizer that
returns junk, nothing or raises. Hearing raises only the recognizer's own error, captions stay append-only, the kept
audio stays bounded, and an item is forgotten once committed."""
from __future__ import annotations

import asyncio

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_ui.local_realtime.server_conversation import agreement
from voice_ui.speech.live import MAX_HEARD_BYTES

from .test_live_captions import ScriptedRecognizer, agent_with, sound


class HostileRecognizer(ScriptedRecognizer):
    """Answers whatever the test draws: junk text, None (unsure), or an exception."""

    def __init__(self, answers: list) -> None:  # drawn up front: decodes run in worker threads
        super().__init__()
        self.answers = answers

    def answer(self):
        value = self.answers.pop() if self.answers else ''
        if value == 'boom':
            raise RuntimeError('decoder crashed')
        return value

    def transcribe(self, pcm, language=None, prompt=None, short=None) -> str:
        return self.answer() or ''

    def interim(self, pcm, language=None, prompt=None):
        return self.answer()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_hostile_audio_and_a_misbehaving_recognizer_never_break_hearing(data):
    """Random chunk sizes (odd bytes too), loud/quiet/noise audio, junk or failing decodes: hearing raises only the
    recognizer's own error, captions stay append-only and the kept audio stays bounded."""
    answers = data.draw(st.lists(st.one_of(st.none(), st.text(max_size=40), st.just('boom')), max_size=30))
    agent = agent_with(HostileRecognizer(answers))

    async def run() -> None:
        sent = ''
        for _ in range(data.draw(st.integers(1, 12))):
            kind = data.draw(st.sampled_from(['sound', 'silence', 'noise']))
            size = data.draw(st.integers(0, 9_601))
            pcm = {'sound': sound(400)[:size], 'silence': bytes(size),
                   'noise': np.random.default_rng(size).integers(-32768, 32767, size // 2, dtype='<i2').tobytes()}[kind]
            try:
                async for caption in agent.hear('item_x', pcm, 'en', None):
                    sent += caption
            except RuntimeError as exc:
                assert str(exc) == 'decoder crashed'
            heard = agent.hearing.items['item_x']
            assert len(heard.audio) <= MAX_HEARD_BYTES and not heard.lock.locked()
            assert agreement(sent.split(), heard.shown) == len(sent.split())
        try:
            final = await agent.transcribe_item('item_x', sound(500), 'en', None)
            assert isinstance(final, str)
        except RuntimeError as exc:
            assert str(exc) == 'decoder crashed'
        assert 'item_x' not in agent.hearing.items  # forgotten once committed

    asyncio.run(run())
