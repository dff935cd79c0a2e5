"""assets/python-link.js in real Chromium: what crosses NiceGUI's socket to Python, and how few messages carry it."""
from __future__ import annotations



# One spoken turn's server events as the GA API sends them (PROTOCOL.md §4), fed to a PythonLink as voice-session.js
# does, with the statuses the component sets in between; returns the messages emitted and when.
TURN_JS = '''async () => {
  const { PythonLink } = await import('voice-ui/python-link.js');
  const sent = [];
  const link = new PythonLink((name, entries) => {
    sent.push({ name, entries: JSON.parse(JSON.stringify(entries)), at: performance.now() });
  });
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const ev = (type, fields) => link.serverEvent({ type, ...fields });
  const status = (value) => link.now('status', { status: value, turn: 1 });
  const message = (id, role, status, content) => ({ id, type: 'message', role, status, content });
  const user = message('item_u1', 'user', 'completed', [{ type: 'input_audio', transcript: null }]);
  const agent = message('item_a1', 'assistant', 'in_progress', []);
  const said = [{ type: 'output_audio', transcript: 'Sunny and warm.' }];
  const agentDone = message('item_a1', 'assistant', 'completed', said);
  const call = { id: 'item_f1', type: 'function_call', status: 'completed', call_id: 'call_1', name: 'time' };
  const output = { id: 'item_o1', type: 'function_call_output', call_id: 'call_1', output: '{}' };
  status('listening');
  await wait(80);
  status('stopping');
  status('thinking');
  ev('input_audio_buffer.committed', { item_id: 'item_u1', previous_item_id: null });
  ev('conversation.item.added', { previous_item_id: null, item: user });
  ev('conversation.item.done', { previous_item_id: null, item: user });
  ev('conversation.item.input_audio_transcription.delta', { item_id: 'item_u1', delta: 'what is ' });
  const heard = 'what is the weather';
  ev('conversation.item.input_audio_transcription.completed', { item_id: 'item_u1', transcript: heard });
  ev('response.created', { response: { id: 'resp_1' } });
  ev('response.output_item.added', { item: agent });
  ev('conversation.item.added', { previous_item_id: 'item_u1', item: agent });
  await wait(80);
  for (const word of ['Sunny ', 'and ', 'warm.']) {
    ev('response.output_audio_transcript.delta', { item_id: 'item_a1', delta: word });
  }
  status('speaking');
  ev('response.output_audio_transcript.done', { item_id: 'item_a1', transcript: 'Sunny and warm.' });
  ev('response.output_item.done', { item: agentDone });
  ev('conversation.item.done', { previous_item_id: 'item_u1', item: agentDone });
  ev('conversation.item.added', { previous_item_id: 'item_a1', item: { ...call, status: 'in_progress' } });
  ev('response.output_item.done', { item: call });
  ev('conversation.item.done', { previous_item_id: 'item_a1', item: call });
  ev('conversation.item.added', { previous_item_id: 'item_f1', item: output });
  const usage = { input_tokens: 5 };
  ev('response.done', { response: { id: 'resp_1', status: 'completed', output: [agentDone, call], usage } });
  ev('rate_limits.updated', { rate_limits: [] });
  await wait(80);
  link.now('latency', { turn: 1, item_id: 'item_a1' });
  status('idle');
  link.now('token_wanted', { reason: 'start' });
  const urgentAt = performance.now();
  return { sent, urgentAt, events: link.events };
}'''


def describe(entry: list) -> str:
    name, payload = entry
    if name == 'realtime_event':
        return f'{payload["type"]}:{(payload.get("item") or {}).get("id", payload.get("item_id", ""))}'
    if name == 'transcript':
        return f'transcript:{payload["item_id"]}:{payload["delta"]}:{"final" if payload["final"] else ""}'
    return f'{name}:{payload.get("status", "")}'


def test_a_turn_crosses_in_few_messages_with_everything_python_uses(page):
    result = page.evaluate(TURN_JS)
    messages = [[describe(entry) for entry in message['entries']] for message in result['sent']]
    assert all(message['name'] == 'batch' for message in result['sent'])
    assert messages == [
        ['status:listening'],
        # stopping was replaced before anything else happened; the user item after its commit adds nothing
        ['status:thinking', 'input_audio_buffer.committed:item_u1',
         'transcript:item_u1:what is the weather:final',  # the done text replaces the pending delta
         'conversation.item.added:item_a1'],
        ['transcript:item_a1:Sunny and warm.:', 'status:speaking', 'transcript:item_a1:Sunny and warm.:final',
         # the agent item's done: its text came as the transcript; the call: placed once, done once
         'conversation.item.added:item_f1', 'response.output_item.done:item_f1', 'response.done:'],
        ['latency:', 'status:idle', 'token_wanted:'],
    ]
    assert result['events'] == sum(len(m) for m in messages)
    assert result['sent'][-1]['at'] <= result['urgentAt']  # a token a Start waits for goes at once (with the rest)


BIG_JS = '''async () => {
  const { PythonLink } = await import('voice-ui/python-link.js');
  const sent = [];
  const link = new PythonLink((name, entries) => sent.push(JSON.stringify(entries).length));
  const text = 'x'.repeat(300000);
  for (let i = 0; i < 5; i++) {
    link.serverEvent({ type: 'response.output_text.delta', item_id: 'item_' + i, delta: text.slice(0, 70000) });
  }
  link.serverEvent({ type: 'response.output_audio_transcript.done', item_id: 'item_9', transcript: text });
  link.flush();
  return sent;
}'''


def test_long_text_is_split_over_messages_below_the_socket_limit(page):
    sizes = page.evaluate(BIG_JS)
    assert len(sizes) >= 3 and max(sizes) < 1_000_000 and sum(sizes) > 5 * 70_000 + 300_000


DELTAS_JS = '''async () => {
  const { PythonLink } = await import('voice-ui/python-link.js');
  const sent = [];
  const started = performance.now();
  const link = new PythonLink((name, entries) => sent.push({ at: performance.now() - started, n: entries.length }));
  for (let i = 0; i < 12; i++) {  // a caption word every 50 ms
    link.serverEvent({ type: 'response.output_audio_transcript.delta', item_id: 'item_a1', delta: 'word ' });
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 400));
  return sent;
}'''


def test_caption_deltas_wait_at_most_a_fifth_of_a_second(page):
    sent = page.evaluate(DELTAS_JS)
    assert 2 <= len(sent) <= 4, sent  # 600 ms of deltas in 200 ms windows
    assert sent[0]['at'] <= 200 + 150, sent  # the first words were not held longer (a loaded machine's margin)
