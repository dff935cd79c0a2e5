"""The renewal's browser modules on their own, in real Chromium (served by the real app): the backoff and lead times,
and SessionRenewal's decisions against a stand-in session (quiet moment, bounded retries, expiry, limit, a Start
while reconnecting). What the turn memory keeps and replays: test_turn_memory_units.py."""
from __future__ import annotations


from tests.protocol_validation import validate_client_event


TIMES_JS = '''async () => {
  const r = await import('voice-ui/session-renewal.js');
  const now = Date.now();
  return {
    low: [1, 2, 3, 4, 5, 6, 9].map((n) => r.backoffDelay(n, () => 0)),
    high: [1, 2, 3, 4, 5, 6, 9].map((n) => r.backoffDelay(n, () => 1)),
    hour: r.renewalDelay(now / 1000 + 3600, now), ten: r.renewalDelay(now / 1000 + 10, now),
    past: r.renewalDelay(now / 1000 - 5, now), far: r.renewalDelay(now / 1000 + 86400, now),
    junk: r.renewalDelay('soon', now), none: r.renewalDelay(undefined, now),
    planned: r.reconnectedMessage('planned', 4, 4, false), dropped: r.reconnectedMessage('dropped', 2, 9, true),
  };
}'''

# A stand-in for VoiceSession with just what SessionRenewal reads and calls; `connect` runs the given scenario.
RENEWAL_JS = '''async (scenario) => {
  const { SessionRenewal, MAX_ATTEMPTS } = await import('voice-ui/session-renewal.js');
  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
  const socket = () => ({ isOpen: true, sent: [], send(e) { this.sent.push(e); return true; } });
  const s = {
    status: 'idle', socket: socket(), statuses: [], notices: [], errors: [], connects: 0, generation: 0,
    replies: { active: false }, commits: { pending: null }, flushingTurn: null, toolReplies: { held: null },
    capturing: false, stopPending: false, handsFree: { on: false, streaming: false },
    tokens: { usable: () => true, asked: false, ask() {} }, typed: { afterConnect: () => false },
    link: { now: (name, payload) => s.notices.push({ name, ...payload }) },
    teardownConnection() { s.socket = null; },
    setStatus(status) { s.status = status; s.statuses.push(status); s.renewal.onStatus(); },
    beginTurn() { s.statuses.push('turn'); },
    early: { turn: null, drop() { s.statuses.push('early dropped'); } }, mic: null,
    tooShort() { s.statuses.push('too short'); },
    fail(source, code) { s.generation++; s.teardownConnection(); if (!s.renewal.retry(source)) s.errors.push(code); },
    async connect(generation, renewing) {
      s.connects++;
      if (s.connectLater) await sleep(10);  // the new session is set up a moment after the Start
      if (s.connectFails) return s.fail('socket', '1006');
      s.socket = socket();
      s.renewal.onEvent({ type: 'session.created', session: { expires_at: Date.now() / 1000 + 3600 } });
      s.renewal.resume(s.socket, renewing);
    },
  };
  const created = (seconds) => s.renewal.onEvent({ type: 'session.created',
    session: { expires_at: Date.now() / 1000 + seconds } });
  const backoff = scenario.startsWith('start') ? 5000 : 20;  // a long backoff that a Start cuts short
  s.renewal = new SessionRenewal(s, { maxConversationMs: scenario === 'limit' ? 400 : 0, delay: () => backoff });
  const said = [{ type: 'conversation.item.added', item: { id: 'item_t1', type: 'message', role: 'user',
    content: [{ type: 'input_text', text: 'hi' }] } }];
  said.forEach((e) => s.renewal.onEvent(e));
  if (scenario === 'quiet') {  // due in 1 s, but a reply is playing: the rollover waits for it
    created(2);
    s.status = 'speaking'; s.replies.active = true;
    await sleep(1800);
    const whileSpeaking = s.connects;
    s.replies.active = false;
    s.setStatus('idle');
    await sleep(200);
    const echo = s.renewal.onEvent({ type: 'conversation.item.added', item: { id: 'item_t1', type: 'message' } });
    return { whileSpeaking, after: s.connects, statuses: s.statuses, notices: s.notices, echo,
      replay: s.socket.sent, reason: s.renewal.reason };
  }
  if (scenario === 'hands-free') {  // due while the person speaks: renewed once the VAD is waiting, streaming resumed
    created(2);
    Object.assign(s.handsFree, { on: true, streaming: true, phase: 'speech' });
    s.status = 'listening';
    await sleep(1500);
    const whileSpeaking = s.connects;
    s.handsFree.phase = 'waiting';
    await sleep(700);  // found by the poll, no status change needed
    return { whileSpeaking, after: s.connects, statuses: s.statuses };
  }
  if (scenario === 'drops') {  // a session that was set up drops; every attempt fails: bounded, then the error
    const first = s.socket;
    created(3600);
    s.connectFails = true;
    s.renewal.socketClosed(first, { opened: true, code: 1006 });
    await sleep(1000);
    return { connects: s.connects, errors: s.errors, max: MAX_ATTEMPTS, statuses: s.statuses,
      renewing: s.renewal.renewing };
  }
  if (scenario.startsWith('start')) {  // a drop; Start pressed during the backoff: reconnected at once, the turn begins
    const first = s.socket;
    created(3600);
    s.renewal.socketClosed(first, { opened: true, code: 1006 });
    await sleep(50);
    const beforeStart = { connects: s.connects, status: s.status, waiting: s.renewal.waiting };
    s.statuses.length = 0;
    s.connectLater = true;
    s.renewal.wantStart();
    s.renewal.wantStart();  // a second press (or Space's repeat) changes nothing
    if (scenario === 'start-stop') s.stopPending = true;  // ...released before the session was up
    await sleep(50);
    return { beforeStart, connects: s.connects, statuses: s.statuses, wanted: s.renewal.startWanted,
      stopPending: s.stopPending, notices: s.notices };
  }
  if (scenario === 'expiry') {  // session_expired, then close 1001: no error, renewed at once, no attempt counted
    const first = s.socket;
    created(3600);
    await sleep(1100);
    const handled = s.renewal.onEvent({ type: 'error', error: { type: 'invalid_request_error', code: 'session_expired',
      message: 'Your session hit the maximum duration of 60 minutes.' } });
    s.replies.active = true;  // a reply was playing when the server closed: lost, and said so
    s.renewal.socketClosed(first, { opened: true, code: 1001 });
    s.replies.active = false;
    await sleep(100);
    return { handled, connects: s.connects, attempts: s.renewal.attempts, errors: s.errors, notices: s.notices,
      reason: s.renewal.reason };
  }
  if (scenario === 'too many') {  // a service that keeps ending sessions early: after 20 in 10 minutes, reported
    const first = s.socket;
    created(3600);
    await sleep(1100);
    s.renewal.recent = Array(20).fill(performance.now());
    s.renewal.socketClosed(first, { opened: true, code: 1001 });
    await sleep(100);
    return { connects: s.connects, errors: s.errors };
  }
  if (scenario === 'limit') {  // the conversation's maximum length: ended at a quiet moment, not renewed
    created(3600);
    await sleep(700);
    return { connects: s.connects, statuses: s.statuses, notices: s.notices, remembered: s.renewal.memory.size };
  }
}'''


def test_backoff_grows_with_jitter_and_a_cap_and_the_lead_time_is_bounded(page):
    r = page.evaluate(TIMES_JS)
    assert r['low'] == [250, 500, 1000, 2000, 4000, 5000, 5000]
    assert r['high'] == [500, 1000, 2000, 4000, 8000, 10000, 10000]
    assert abs(r['hour'] - 3480_000) < 50 and abs(r['ten'] - 7500) < 50  # 2 min before the hour; a quarter of 10 s
    default = 3600_000 - 120_000
    assert r['past'] == r['far'] == r['junk'] == r['none'] == default  # a skewed clock or no expiry: OpenAI's cap
    assert 'time limit' in r['planned'] and '4 earlier turns replayed' in r['planned']
    assert 'dropped' in r['dropped'] and 'the last 2 of 9' in r['dropped'] and 'say it again' in r['dropped']


def test_a_due_rollover_waits_for_the_reply_then_replays(page):
    r = page.evaluate(RENEWAL_JS, 'quiet')
    assert r['whileSpeaking'] == 0 and r['after'] == 1 and r['reason'] == 'planned'
    assert r['statuses'][-2:] == ['reconnecting', 'idle']
    [item] = r['replay']
    validate_client_event(item)
    assert item['item']['content'] == [{'type': 'input_text', 'text': 'hi'}]
    assert r['echo'] is True  # the replayed item's echo is not news for Python
    [notice] = r['notices']
    assert notice['name'] == 'notice' and notice['kind'] == 'reconnected'
    assert '1 earlier turn replayed' in notice['message']


def test_hands_free_renews_between_utterances_and_streams_on(page):
    r = page.evaluate(RENEWAL_JS, 'hands-free')
    assert r['whileSpeaking'] == 0 and r['after'] == 1
    assert r['statuses'][-2:] == ['reconnecting', 'turn']  # the mic streams again for the server's VAD


def test_drops_are_retried_a_bounded_number_of_times_then_reported(page):
    r = page.evaluate(RENEWAL_JS, 'drops')
    assert r['connects'] == r['max'] == 5
    assert r['errors'] == ['1006'] and r['renewing'] is False
    assert 'reconnecting' in r['statuses']


def test_start_during_a_reconnect_backoff_reconnects_at_once_and_begins_the_turn(page):
    r = page.evaluate(RENEWAL_JS, 'start')
    assert r['beforeStart'] == {'connects': 0, 'status': 'reconnecting', 'waiting': True}  # the backoff is 5 s
    assert r['connects'] == 1  # cut short by the press, once
    assert r['statuses'] == ['turn'] and r['wanted'] is False  # the turn of the press, once the session is up
    assert any(n['kind'] == 'reconnected' for n in r['notices'])


def test_start_then_stop_during_a_reconnect_says_too_short_and_settles(page):
    r = page.evaluate(RENEWAL_JS, 'start-stop')
    assert r['connects'] == 1
    assert r['statuses'] == ['early dropped', 'too short', 'idle'] and r['stopPending'] is False


def test_expiry_is_renewed_at_once_without_an_error(page):
    r = page.evaluate(RENEWAL_JS, 'expiry')
    assert r['handled'] is True and r['errors'] == [] and r['attempts'] == 0 and r['connects'] == 1
    assert r['reason'] == 'expired'
    [notice] = r['notices']
    assert notice['kind'] == 'reconnected' and 'time limit' in notice['message'] and 'say it again' in notice['message']


def test_the_maximum_conversation_length_ends_it_honestly(page):
    r = page.evaluate(RENEWAL_JS, 'limit')
    assert r['connects'] == 0 and r['statuses'][-1] == 'closed' and r['remembered'] == 0
    [notice] = r['notices']
    assert notice['kind'] == 'conversation_limit' and 'maximum length' in notice['message']


def test_a_service_that_keeps_ending_sessions_early_is_not_followed_for_ever(page):
    assert page.evaluate(RENEWAL_JS, 'too many') == {'connects': 0, 'errors': ['1001']}
