"""The sans-I/O engine alone: no sockets, a fake clock, agent work run by hand."""
from __future__ import annotations

import asyncio
import base64

import numpy as np
import pytest

from tests.protocol_validation import validate_server_event
from voice_ui.local_realtime.actions import Close, Respond, Send, Transcribe
from voice_ui.local_realtime.server_agent import EchoAgent, Reply
from voice_ui.local_realtime.server_config import EngineOptions, Pacing
from voice_ui.local_realtime.engine import RealtimeEngine
from voice_ui.local_realtime.faults import Faults
from voice_ui.local_realtime.session_schema import default_session, merge_session
from voice_ui.local_realtime.vad import EnergyVad
from voice_ui.protocol import ServerEvent

SECOND_OF_AUDIO = b'\x10\x00' * 24000
MANUAL = merge_session(default_session(), {'audio': {'input': {'turn_detection': None,
                                                               'transcription': {'model': 'whisper'}}}})


class Harness:
    """Drives an engine like the transport does, but with a clock the test moves."""

    def __init__(self, options: EngineOptions | None = None, faults: Faults | None = None,
                 agent: object | None = None) -> None:
        self.now = 0.0
        self.engine = RealtimeEngine({**MANUAL, 'id': 'sess_test'}, self.now, options, faults)
        self.agent = agent or EchoAgent()
        self.sent: list[tuple[float, dict]] = []
        self.closes: list[Close] = []
        self.work: list[Transcribe | Respond] = []
        self.run_work = True

    def send(self, event: dict) -> None:
        self.engine.receive(event, self.now)
        self.poll()

    def poll(self) -> None:
        for action in self.engine.poll(self.now):
            if isinstance(action, Send):
                validate_server_event(action.event)
                self.sent.append((self.now, action.event))
            elif isinstance(action, Close):
                self.closes.append(action)
            else:
                self.work.append(action)
                if self.run_work:
                    self.perform(action)

    def perform(self, work: Transcribe | Respond) -> None:
        if isinstance(work, Transcribe):
            text = asyncio.run(self.agent.transcribe(work.audio, work.language, work.prompt))
            self.engine.transcription_ready(work.item_id, text, None, self.now)
        else:
            reply = asyncio.run(self.agent.respond(work.history, work.audio, work.instructions, work.tools))
            self.engine.reply_ready(work.response_id, reply, None, self.now)
        self.poll()

    def advance_to(self, until: float) -> None:
        while (due := self.engine.next_due()) is not None and due <= until:
            self.now = max(self.now, due)
            self.poll()
        self.now = until

    def types(self) -> list[str]:
        return [event['type'] for _, event in self.sent]

    def of_type(self, event_type: str) -> list[tuple[float, dict]]:
        return [(t, e) for t, e in self.sent if e['type'] == event_type]

    def manual_turn(self, audio: bytes = SECOND_OF_AUDIO) -> None:
        self.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(audio).decode()})
        self.send({'type': 'input_audio_buffer.commit'})
        self.send({'type': 'response.create'})


def test_session_created_comes_first():
    harness = Harness()
    harness.poll()
    assert harness.types() == [ServerEvent.SESSION_CREATED]


def test_realtime_pacing_runs_slightly_ahead_of_playback():
    harness = Harness(EngineOptions(pacing=Pacing.REALTIME, chunk_ms=50, lead_ms=300))
    harness.manual_turn()
    harness.advance_to(5)
    audio = harness.of_type(ServerEvent.OUTPUT_AUDIO_DELTA)
    assert len(audio) == 20 and all(len(base64.b64decode(e['delta'])) == 2400 for _, e in audio)
    times = [t for t, _ in audio]
    assert times[:7] == pytest.approx([0.0] * 7)                      # the first 300 ms go out at once
    assert times[-1] == pytest.approx(19 * 0.05 - 0.3)  # then 50 ms of audio every 50 ms
    done_at = harness.of_type(ServerEvent.RESPONSE_DONE)[0][0]
    assert done_at == pytest.approx(times[-1])


def test_burst_pacing_sends_everything_at_once():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.manual_turn()
    assert {t for t, _ in harness.sent} == {0.0}
    assert harness.types()[-2:] == [ServerEvent.RESPONSE_DONE, ServerEvent.RATE_LIMITS_UPDATED]


def test_response_waits_for_the_transcript_of_the_turn():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.run_work = False
    harness.manual_turn()
    assert [type(w) for w in harness.work] == [Transcribe]  # no Respond before the transcript exists
    assert ServerEvent.RESPONSE_CREATED in harness.types()
    harness.perform(harness.work[0])
    respond = harness.work[1]
    assert isinstance(respond, Respond) and respond.audio == SECOND_OF_AUDIO
    assert respond.history[-1].role == 'user' and respond.history[-1].text.startswith('[1.0 s')


def test_the_agent_gets_the_session_instructions_or_the_response_override():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.run_work = False
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'instructions': 'Be brief.'}})
    harness.manual_turn()
    harness.perform(harness.work[0])
    assert harness.work[1].instructions == 'Be brief.'
    harness.perform(harness.work[1])  # the first response runs to its end
    harness.send({'type': 'conversation.item.create', 'item': {
        'type': 'message', 'role': 'user', 'content': [{'type': 'input_text', 'text': 'hi'}]}})
    harness.advance_to(1)
    harness.send({'type': 'response.create', 'response': {'instructions': 'Answer in French.'}})
    assert harness.work[-1].instructions == 'Answer in French.'


def test_cancel_mid_stream_reports_only_what_was_sent():
    harness = Harness(EngineOptions(pacing=Pacing.REALTIME, chunk_ms=50, lead_ms=0))
    harness.manual_turn()
    harness.advance_to(0.26)  # chunks at 0, 50, ..., 250 ms are out
    harness.send({'type': 'response.cancel'})
    harness.advance_to(5)
    assert len(harness.of_type(ServerEvent.OUTPUT_AUDIO_DELTA)) == 6
    done = harness.of_type(ServerEvent.RESPONSE_DONE)[0][1]['response']
    assert done['status'] == 'cancelled' and done['output'][0]['status'] == 'incomplete'
    assert done['usage']['output_token_details']['audio_tokens'] == 6  # 300 ms at 1 token / 50 ms
    sent_words = ''.join(e['delta'] for _, e in harness.of_type(ServerEvent.OUTPUT_AUDIO_TRANSCRIPT_DELTA))
    assert done['output'][0]['content'][0]['transcript'] == sent_words
    assert harness.types()[-1] == ServerEvent.RATE_LIMITS_UPDATED


class FailingAgent(EchoAgent):
    async def transcribe(self, audio, language, prompt):
        raise RuntimeError('recognizer crashed')


def test_failing_transcription_is_reported_and_the_reply_still_comes():
    harness = Harness(EngineOptions(pacing=Pacing.BURST), agent=FailingAgent())
    harness.run_work = False
    harness.manual_turn()
    item_id = harness.work[0].item_id
    harness.engine.transcription_ready(item_id, None, 'recognizer crashed', harness.now)
    harness.poll()
    failed = harness.of_type(ServerEvent.INPUT_TRANSCRIPTION_FAILED)[0][1]
    assert failed['item_id'] == item_id and failed['error']['message'] == 'recognizer crashed'
    assert isinstance(harness.work[-1], Respond)


def test_failing_reply_ends_the_response_as_failed():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.run_work = False
    harness.manual_turn()
    harness.perform(harness.work[0])
    harness.engine.reply_ready(harness.work[1].response_id, None, 'synthesizer crashed', harness.now)
    harness.poll()
    done = harness.of_type(ServerEvent.RESPONSE_DONE)[0][1]['response']
    assert done['status'] == 'failed' and done['status_details']['error']['message'] == 'synthesizer crashed'
    harness.send({'type': 'response.create'})  # no longer active: a new response may start
    assert len(harness.of_type(ServerEvent.RESPONSE_CREATED)) == 2


def test_late_reply_after_cancel_is_ignored():
    harness = Harness(EngineOptions(pacing=Pacing.BURST))
    harness.run_work = False
    harness.manual_turn()
    harness.perform(harness.work[0])
    harness.send({'type': 'response.cancel'})
    harness.engine.reply_ready(harness.work[1].response_id, Reply('late', SECOND_OF_AUDIO), None, harness.now)
    harness.poll()
    assert not harness.of_type(ServerEvent.OUTPUT_AUDIO_DELTA)
    assert harness.of_type(ServerEvent.RESPONSE_DONE)[0][1]['response']['output'] == []


def test_session_limit_on_the_fake_clock():
    harness = Harness(EngineOptions(session_limit_s=60))
    harness.advance_to(59.9)
    assert not harness.closes
    harness.advance_to(60)
    assert harness.types()[-1] == ServerEvent.ERROR and harness.sent[-1][1]['error']['code'] == 'session_expired'
    assert harness.closes == [Close(1001, 'session expired')]
    harness.send({'type': 'input_audio_buffer.clear'})
    assert harness.types()[-1] == ServerEvent.ERROR  # nothing more after the close
    assert harness.engine.next_due() is None


def test_transcript_deltas_rebuild_the_text_exactly():
    from voice_ui.local_realtime.events import words
    for text in ['', 'one', 'Hello, world!  Two  spaces.', ' leading and trailing ']:
        assert ''.join(words(text)) == text


def tone(ms: int, amplitude: float = 0.3) -> bytes:
    t = np.arange(24 * ms) / 24000
    return (np.sin(2 * np.pi * 220 * t) * amplitude * 32767).astype('<i2').tobytes()


def test_energy_vad_finds_a_turn_with_padding_and_silence():
    vad = EnergyVad(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)
    events = vad.feed(b'\0\0' * 24 * 1000)
    events += vad.feed(tone(800))
    events += vad.feed(b'\0\0' * 24 * 400)
    assert [(e.kind, e.ms) for e in events] == [('started', 700)]  # voice at 1000 ms minus 300 ms padding
    events = vad.feed(b'\0\0' * 24 * 200)
    assert [(e.kind, e.ms) for e in events] == [('stopped', 2300)]  # 1800 ms voice end + 500 ms silence


def test_energy_vad_ignores_quiet_noise_and_clicks():
    vad = EnergyVad()
    rng = np.random.default_rng(1)
    noise = (rng.normal(0, 30, 24000)).astype('<i2').tobytes()  # about -60 dBFS
    assert vad.feed(noise) == []
    assert vad.feed(tone(20, 0.9) + b'\0\0' * 24 * 500) == []   # 20 ms is a click, not speech


def test_speech_during_a_response_interrupts_it_with_server_vad():
    harness = Harness(EngineOptions(pacing=Pacing.REALTIME, lead_ms=0))
    harness.send({'type': 'session.update', 'session': {'type': 'realtime', 'audio': {'input': {
        'turn_detection': {'type': 'server_vad', 'silence_duration_ms': 300}}}}})
    harness.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(tone(600) + bytes(24 * 2 * 400))
                  .decode()})
    assert ServerEvent.SPEECH_STOPPED in harness.types() and ServerEvent.RESPONSE_CREATED in harness.types()
    harness.advance_to(0.2)
    assert harness.of_type(ServerEvent.OUTPUT_AUDIO_DELTA)
    harness.send({'type': 'input_audio_buffer.append', 'audio': base64.b64encode(tone(200)).decode()})
    done = harness.of_type(ServerEvent.RESPONSE_DONE)[0][1]['response']
    assert done['status_details'] == {'type': 'cancelled', 'reason': 'turn_detected'}
    assert harness.types().index(ServerEvent.SPEECH_STARTED, 3) < harness.types().index(ServerEvent.RESPONSE_DONE)
