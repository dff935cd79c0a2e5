"""A response whose reply arrives in pieces (sentence by sentence): each piece's deltas are queued on arrival.

The events are the ones `ResponseRun.stream` queues for a whole reply (same item, same pacing on one playback
timeline, word timing offset by the audio before each piece); only their due times follow the pieces' arrival.
A `max_output_tokens` response is gathered whole first, so its cut works exactly as for a whole reply.
"""
from __future__ import annotations

import base64

from ..protocol import BYTES_PER_MS, ResponseStatus
from .function_calls import vetted_calls
from .server_agent import Reply
from .server_config import Pacing
from .server_conversation import Item, words
from .tokens import new_id


class PieceStream:
    def __init__(self, run, now: float) -> None:
        run.streaming = True
        run.input_items = run.reading()
        self.run = run
        self.cursor = now + run.faults.reply_delay_ms / 1000  # due time of the latest queued event
        self.origin = self.cursor   # playback timeline: audio chunk k is due at origin + k * chunk - lead
        self.chunks = 0
        self.item: Item | None = None
        self.index = 0
        self.audio_ms = 0
        self.word_ends: list[int] | None = []
        self.calls: tuple = ()
        self.gathered: list[Reply] | None = [] if isinstance(run.session.get('max_output_tokens'), int) else None

    def add(self, piece: Reply, now: float) -> bool:
        if self.gathered is not None:
            self.gathered.append(piece)
            return True
        self.calls += piece.tool_calls
        if piece.text or (piece.audio and self.run.audio_mode):
            self.message(piece, now)
        return True

    def finish(self, now: float) -> bool:
        run = self.run
        if self.gathered is not None:  # one whole reply, through the ordinary path (with its token cut)
            pieces, run.streaming = self.gathered, False
            whole = Reply(''.join(p.text for p in pieces), b''.join(p.audio for p in pieces),
                          tuple(call for p in pieces for call in p.tool_calls), joined_word_ends(pieces))
            calls, problem = vetted_calls(run.offer, whole.tool_calls)
            if problem is not None:
                run.outbox.push(lambda: run.fail(problem), now, run.id)
                return False
            run.stream(Reply(whole.text, whole.audio, calls, whole.word_ends_ms), now)
            return True
        calls, problem = vetted_calls(run.offer, self.calls)
        if problem is not None:
            run.outbox.push(lambda: run.fail(problem), max(now, self.cursor), run.id)
            return False
        due = max(now, self.cursor)
        if self.item is None and not calls:  # an empty reply is still one (empty) message, as in `stream`
            self.open(due)
        if self.item is not None:
            run.schedule_close(self.item, self.index, due)
        for call in calls:
            item = Item(new_id('item'), None, type='function_call', status='in_progress', name=call.name,
                        call_id=call.call_id)
            due = run.stream_call(item, call.arguments, due)
        run.outbox.push(lambda: run.closing_actions(ResponseStatus.COMPLETED), due, run.id)
        return True

    def open(self, due: float) -> None:
        self.item = Item(new_id('item'), 'assistant', audio_part=self.run.audio_mode, text='', status='in_progress')
        self.index = self.run.schedule_open(self.item, due)

    def message(self, piece: Reply, now: float) -> None:
        run, options = self.run, self.run.options
        start = max(now, self.cursor)
        if self.item is None:
            self.open(start)
        audio = piece.audio if run.audio_mode else b''
        chunk_bytes = options.chunk_ms * BYTES_PER_MS
        chunks = [audio[i:i + chunk_bytes] for i in range(0, len(audio), chunk_bytes)]
        texts = words(piece.text)
        slots = len(chunks) or len(texts)
        due = start
        for slot in range(slots):
            due = max(due, self.slot_time(start, slot, bool(chunks)) + run.faults.jitter_s())
            for text in texts[run.words_before(slot, len(chunks), len(texts)):
                              run.words_before(slot + 1, len(chunks), len(texts))]:
                run.outbox.push(run.transcript_delta(self.item, self.index, text), due, run.id)
            if slot < len(chunks):
                delta = base64.b64encode(run.encode(chunks[slot])).decode('ascii')  # wire format, then base64
                run.outbox.push(run.audio_delta(self.item, self.index, chunks[slot], delta), due, run.id)
        self.cursor, self.chunks = due, self.chunks + len(chunks)
        self.timing(piece, texts, len(audio))

    def slot_time(self, start: float, slot: int, audio: bool) -> float:
        options = self.run.options
        if options.pacing == Pacing.BURST:
            return start
        if not audio:
            return start + slot * options.word_ms / 1000
        return max(start, self.origin + max(0.0, (self.chunks + slot) * options.chunk_ms / 1000
                                            - options.lead_ms / 1000))

    def timing(self, piece: Reply, texts: list[str], audio_bytes: int) -> None:
        """The item's word ends so far, on the whole item's audio (truncate reads them)."""
        if not self.run.audio_mode:
            return
        ends = piece.word_ends_ms
        if self.word_ends is None or ends is None or len(ends) != len(texts):
            self.word_ends = None
        else:
            self.word_ends += [self.audio_ms + end for end in ends]
        self.audio_ms += audio_bytes // BYTES_PER_MS
        self.item.word_ends_ms = tuple(self.word_ends) if self.word_ends is not None else None


def joined_word_ends(pieces: list[Reply]) -> tuple[int, ...] | None:
    ends: list[int] = []
    offset_ms = 0
    for piece in pieces:
        if piece.word_ends_ms is None or len(piece.word_ends_ms) != len(words(piece.text)):
            return None
        ends += [offset_ms + end for end in piece.word_ends_ms]
        offset_ms += len(piece.audio) // BYTES_PER_MS
    return tuple(ends)
