"""Issue 14, first parts, in real Chromium against the real app (embedded server): after a turn the agent card
carries a latency label whose stages are in order and agree with the component's own timestamps, the page shows
the session summary, and both downloaded transcripts (Markdown and JSON) contain both sides of the conversation."""
from __future__ import annotations

import json
import re

import pytest

from tests.support import manifest

from .conftest import running_app, voice_page

UTTERANCE = manifest()['weather']
HOLD_S = UTTERANCE['mic_leading_silence_s'] + UTTERANCE['speech_seconds'] + UTTERANCE['mic_trailing_silence_s'] + 0.3
LABEL = re.compile(r'^commit (\d+) ms(?: · transcript (\d+) ms)? · first audio (\d+) ms · done (\d+) ms$')


@pytest.fixture(scope='module')
def app():
    with running_app('app') as app:
        yield app


@pytest.fixture(scope='module')
def voice(playwright, chromium, app):
    with voice_page(playwright, chromium, 'weather', app.url) as voice:
        yield voice


def test_the_agent_card_shows_a_consistent_latency_label(voice):
    result = voice.turn(HOLD_S)
    label = voice.page.get_by_label('Latency', exact=True).first
    label.wait_for(timeout=10_000)
    text = label.inner_text().strip()
    match = LABEL.match(text)
    assert match, text
    commit, transcript, audio, done = (int(g) if g is not None else None for g in match.groups())
    assert 0 <= commit <= audio <= done, text
    if transcript is not None:
        assert commit <= transcript <= done, text
    # The figures agree with the component's own counters (both performance.now ms, Stop as the origin).
    played_at = result.stats['playbackStartedAt']  # the player's 'playing' report, as the benchmark reads it
    voice_js = f'getElement({voice.element_id}).voice'
    record = voice.page.evaluate(f'{voice_js}.latency.record')
    assert record['endAt'] == voice.page.evaluate(f'{voice_js}.stats.gestures.stop'), record  # Stop is the origin
    assert abs((played_at - record['endAt']) - audio) <= 1, (played_at, record, text)
    assert abs((record['commitAt'] - record['endAt']) - commit) <= 1, (record, text)
    assert abs((record['doneAt'] - record['endAt']) - done) <= 1, (record, text)
    # And with the wall clock of the page: the reply cannot have finished after the label was seen.
    assert done <= voice.page.evaluate('performance.now()') - record['endAt']
    summary = voice.page.get_by_label('Latency summary')
    summary.wait_for(timeout=5_000)
    assert summary.inner_text().startswith('Latency over 1 turn — commit: median '), summary.inner_text()


def download(voice, item: str) -> bytes:
    voice.click('Download transcript')
    with voice.page.expect_download(timeout=10_000) as info:
        voice.page.get_by_text(item).click()
    return open(info.value.path(), 'rb').read()


def test_the_downloaded_transcripts_contain_both_sides(voice):
    user, agent = voice.cards('user')[0].strip(), voice.cards('assistant')[0].strip()
    assert user and agent
    data = json.loads(download(voice, 'JSON (.json)'))
    assert [(t['role'], t['text'].strip()) for t in data['turns']] == [('user', user), ('assistant', agent)]
    latency = data['turns'][1]['latency_ms']
    assert 0 <= latency['commit_ms'] <= latency['audio_ms'] <= latency['done_ms'], latency
    assert data['usage']['responses'] == 1
    markdown = download(voice, 'Markdown (.md)').decode('utf-8')
    assert markdown.index('## You · ') < markdown.index('## Agent · '), markdown
    words = lambda s: re.findall(r'[A-Za-z0-9]+', s)  # noqa: E731 - Markdown escapes punctuation
    assert ' '.join(words(user)) in ' '.join(words(markdown)) and ' '.join(words(agent)) in ' '.join(words(markdown))
    assert 'Latency: commit ' in markdown


TURN_LATENCY_JS = '''async () => {
  const { TurnLatency } = await import('voice-ui/turn-latency.js');
  const sent = [];
  const player = { counters: {} };
  const latency = new TurnLatency({ now: (name, payload) => sent.push([name, payload]) }, () => player, () => 7);
  const pause = () => new Promise((r) => setTimeout(r, 20));
  latency.replyDone();                                   // nothing measured yet: nothing sent
  latency.seen({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: 900, item_id: 'u1' });  // VAD end
  await pause();
  latency.seen({ type: 'input_audio_buffer.committed', item_id: 'u1' });
  await pause();
  latency.seen({ type: 'response.created', response: { id: 'r1' } });
  latency.seen({ type: 'response.output_item.added', item: { id: 'a1', type: 'message' } });
  await pause();
  player.counters.startedAt = performance.now();
  await pause();
  latency.seen({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', transcript: 'hi' });
  await pause();
  latency.replyDone();
  latency.replyDone();                                   // once per turn
  latency.speechEnded(8);                                // a too-short turn: no commit, so nothing is sent
  latency.replyDone();
  return sent;
}'''


def test_turn_latency_times_a_vad_turn_once_and_skips_an_uncommitted_one(voice):
    sent = voice.page.evaluate(TURN_LATENCY_JS)
    assert len(sent) == 1, sent
    name, payload = sent[0]
    assert name == 'latency'
    assert (payload['turn'], payload['item_id'], payload['response_id']) == (7, 'a1', 'r1')
    assert 15 <= payload['commit_ms'] < payload['audio_ms'] < payload['transcript_ms'] < payload['done_ms'], payload


RECORD_TOKENS_JS = """(id) => {
  const tokens = getElement(id).voice.tokens;
  const take = tokens.take.bind(tokens);
  window.__tokensUsed = [];
  tokens.take = (timeoutMs) => take(timeoutMs).then((value) => { window.__tokensUsed.push(value); return value; });
}"""


def test_the_events_drawer_lists_both_directions_without_audio_or_token(voice):
    voice.page.get_by_role('button', name='Events').click()
    voice.page.wait_for_function('document.querySelector(".vu-events")?.innerText.includes("response.done")',
                                 timeout=10_000)
    voice.click('Close events')
    # A new connection (so the test knows its token) and a turn while the drawer was closed and then opened.
    voice.page.evaluate(RECORD_TOKENS_JS, voice.element_id)
    voice.click('Close Session')
    voice.wait_status('closed', timeout_ms=10_000)
    voice.turn(1.0)
    tokens = voice.page.evaluate('window.__tokensUsed')
    assert tokens and all(len(t) >= 8 for t in tokens), tokens
    voice.page.get_by_role('button', name='Events').click()
    voice.page.wait_for_function(
        'document.querySelector(".vu-events")?.innerText.includes("session.created")', timeout=10_000)
    voice.turn(1.0)  # with the drawer open: full, redacted entries
    voice.page.wait_for_function(
        'document.querySelector(".vu-events")?.innerText.includes("[audio: ")', timeout=10_000)
    text = voice.page.locator('.vu-events').inner_text()
    assert '→ client' in text and '← server' in text, text[:2000]
    for kind in ('input_audio_buffer.append', 'input_audio_buffer.commit', 'response.create', 'response.done',
                 'response.output_audio.delta', 'session.update', 'session.created'):
        assert kind in text, kind
    assert not re.search(r'[A-Za-z0-9+/=]{200,}', text), 'a base64 audio payload reached the drawer'
    for token in tokens:
        assert token not in text, 'the session token reached the drawer'
    voice.click('Close events')
