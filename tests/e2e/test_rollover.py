"""Issue 14, "sessions that outlive their limit", in real Chromium: the app talks to the standalone embedded server,
whose sessions end after a few seconds (`--session-limit`). The conversation goes on across each expiry without a
click: every new session gets the same session.update and the turns so far replayed as GA items (checked on the
server through its session introspection), no error banner shows, and the transcript notes "reconnected". A dropped
connection (the server's drop fault) is renewed the same way, after a backoff.

One browser for the module: its fake mic speaks once per getUserMedia, and each renewal reopens the mic."""
from __future__ import annotations

import os
import secrets

import pytest

from tests.protocol_validation import validate_client_event
from voice_ui.protocol import ClientEvent

from .checks import assert_ga_client_events
from .conftest import running_app, running_realtime_server, screenshot, voice_page
from .harness import LocalServerControl

API_KEY = 'sk-e2e-' + secrets.token_urlsafe(24)
SESSION_LIMIT_S = 15  # renewal is due a quarter before (11 s): room for a whole typed or spoken turn, under load
FIRST, SECOND = 'Remember the number forty-two.', 'What number did I ask you to remember?'
ECHO_READ = 'I have no voice installed, but I read: '  # the echo agent's answer to a typed message


@pytest.fixture(scope='module')
def realtime_server():
    with running_realtime_server('rollover-realtime', API_KEY, '--pacing', 'burst', '--agent', 'echo',
                                 '--session-limit', str(SESSION_LIMIT_S)) as server:
        yield server


@pytest.fixture(scope='module')
def app(realtime_server):
    with running_app('rollover-app', env={'OPENAI_BASE_URL': realtime_server.url + '/v1', 'OPENAI_API_KEY': API_KEY,
                                          'VOICE_UI_MINTS_PER_MINUTE': '1000'}) as app:  # a session every few s
        yield app


@pytest.fixture(scope='module')
def control(realtime_server):
    control = LocalServerControl(realtime_server.url)
    control.clear_sessions()
    return control


@pytest.fixture(scope='module')
def voice(playwright, chromium, app, control):
    with voice_page(playwright, chromium, 'lights', app.url) as voice:
        yield voice


def renewal(voice) -> dict:
    return voice.page.evaluate(f'getElement({voice.element_id}).voice.renewal.snapshot()')


def wait_renewed(voice, after: int, timeout_ms: int = 30_000) -> dict:
    """A renewal newer than `after` has settled (status idle again)."""
    voice.page.wait_for_function(f'(() => {{ const v = getElement({voice.element_id}).voice; '
                                 f'return v.renewal.renewals > {after} && v.status === "idle"; }})()',
                                 timeout=timeout_ms, polling=50)
    return renewal(voice)


def type_turn(voice, text: str) -> None:
    replies = voice.page.locator('.vu-turn-assistant').count()
    box = voice.page.get_by_role('textbox', name='Message')
    box.fill(text)
    box.press('Enter')
    voice.page.wait_for_function(f'document.querySelectorAll(".vu-turn-assistant").length > {replies}',
                                 timeout=30_000)
    voice.wait_status('idle', timeout_ms=30_000)


def replayed(log: dict) -> list[dict]:
    """The items a session got before anything new: the conversation.item.create events right after session.update."""
    events = [e for e in log['client_events'] if e['type'] != ClientEvent.INPUT_AUDIO_APPEND]
    assert events and events[0]['type'] == ClientEvent.SESSION_UPDATE, [e['type'] for e in events[:3]]
    items = []
    for event in events[1:]:
        if event['type'] != ClientEvent.ITEM_CREATE or not event.get('event_id', '').startswith('replay_'):
            break
        items.append(event['item'])
    return items


def texts(items: list[dict]) -> list[tuple[str, str]]:
    return [(item['role'], item['content'][0]['text']) for item in items]


def drop_the_next_reply(voice, control, hold_s: float, until: str, polling: int) -> int:
    """A fresh session, then a spoken turn whose reply the server cuts without a close frame (its drop fault); waits
    until `until` (JS on the element, `{count}`: the renewals before) holds. Returns the renewals before the drop."""
    if not renewal(voice)['remembered']:  # run alone: a conversation to carry on first
        type_turn(voice, FIRST)
    count = wait_renewed(voice, renewal(voice)['renewals'])['renewals']
    control.set_faults(drop_after_audio_deltas=1)
    try:
        voice.start_speaking()
        voice.page.wait_for_timeout(hold_s * 1000)
        voice.stop_speaking()
        voice.page.wait_for_function(f'getElement({voice.element_id}).' + until.format(count=count),
                                     timeout=30_000, polling=polling)
    finally:
        control.set_faults()  # back to none
    return count


def assert_no_error_banner(voice) -> None:
    banner = voice.page.locator('.vu-error')
    assert not banner.is_visible(), banner.inner_text()


def test_the_conversation_goes_on_across_expiry_with_the_earlier_turns_replayed(voice, control):
    type_turn(voice, FIRST)
    after_first = wait_renewed(voice, 0)  # the session reached its limit's lead time while idle: renewed
    assert after_first['reason'] == 'planned', after_first
    print(f"\nplanned rollover: {after_first['lastGapMs']} ms from leaving the old session to the new one set up "
          f"(load average {os.getloadavg()[0]:.2f})")

    type_turn(voice, SECOND)  # the second turn goes to the renewed session
    wait_renewed(voice, after_first['renewals'])
    logs = control.sessions()
    assert len(logs) >= 3, [log['outcome'] for log in logs]
    # The session that got the second message had the first turn (both sides, as text) replayed before it.
    [target] = [log for log in logs if any(e['type'] == ClientEvent.ITEM_CREATE and not e['event_id'].startswith(
        'replay_') and e['item']['content'][0]['text'] == SECOND for e in log['client_events'])]
    assert texts(replayed(target)) == [('user', FIRST), ('assistant', ECHO_READ + FIRST)]
    # ...and the next one both turns, in order, as GA items: user input_text, assistant output_text.
    later = logs[logs.index(target) + 1]
    items = replayed(later)
    assert texts(items) == [('user', FIRST), ('assistant', ECHO_READ + FIRST), ('user', SECOND),
                            ('assistant', ECHO_READ + SECOND)]
    assert [item['content'][0]['type'] for item in items] == ['input_text', 'output_text'] * 2
    for log in logs:
        for event in log['client_events']:
            validate_client_event(event)
    assert_ga_client_events(voice.traffic.realtime_sent())
    # Every session after the first was set up exactly like the first.
    updates = [next(e for e in log['client_events'] if e['type'] == ClientEvent.SESSION_UPDATE) for log in logs]
    assert all(update['session'] == updates[0]['session'] for update in updates)

    # The page: the transcript kept both turns, once each; no error banner; the card notes "reconnected".
    assert voice.cards('user') == [FIRST, SECOND]
    assert voice.cards('assistant') == [ECHO_READ + FIRST, ECHO_READ + SECOND]
    assert_no_error_banner(voice)
    notes = voice.page.locator('.vu-note').all_inner_texts()
    assert any('reconnected' in note for note in notes), notes
    screenshot(voice.page, 'e2e-rollover.png')


def test_a_spoken_turn_works_in_a_renewed_session(voice, control):
    count = wait_renewed(voice, renewal(voice)['renewals'])['renewals']  # a fresh session: the turn fits before its cap
    result = voice.turn(1.5)
    assert result.stats['status'] == 'idle'
    assert any(e['type'] == ClientEvent.INPUT_AUDIO_COMMIT for e in result.sent)
    wait_renewed(voice, renewal(voice)['renewals'])
    logs = control.sessions()
    [spoken_in] = [i for i, log in enumerate(logs) if any(e['type'] == ClientEvent.INPUT_AUDIO_COMMIT
                                                           for e in log['client_events'])]
    # The renewal waited for the reply: it played out in the session that heard the turn, which the page then closed.
    events = logs[spoken_in]['server_events']
    assert 'response.done' in events[events.index('input_audio_buffer.committed'):], events
    # The page left it at the quiet moment after the reply (1000) or, on a starved machine, the cap came first (1001)
    # and the page renewed at once: either way the finished turn is replayed next.
    assert logs[spoken_in]['close_code'] in (1000, 1001), logs[spoken_in]
    print(f"\nspoken turn's session: {len(events)} server events; renewals {count} -> {renewal(voice)['renewals']}")
    spoken = texts(replayed(logs[spoken_in + 1]))[-2:]  # the spoken turn, as its transcripts
    assert [role for role, _ in spoken] == ['user', 'assistant'] and all(text for _, text in spoken), spoken
    assert_no_error_banner(voice)


def test_a_dropped_connection_is_renewed_after_a_backoff(voice, control):
    drop_the_next_reply(voice, control, 2.0, 'voice.renewal.renewals > {count}', polling=50)
    state = renewal(voice)
    assert state['reason'] == 'dropped' and state['attempts'] == 1, state
    print(f"\ndropped: renewed {state['lastGapMs']} ms after the drop (backoff included; load average "
          f"{os.getloadavg()[0]:.2f})")
    voice.wait_status('idle', timeout_ms=10_000)
    logs = control.sessions()
    dropped = [i for i, log in enumerate(logs) if log['outcome'].startswith('dropped')]
    assert dropped, [log['outcome'] for log in logs]
    history, carried = texts(replayed(logs[dropped[-1]])), texts(replayed(logs[dropped[-1] + 1]))
    assert history and carried[:len(history)] == history, (history, carried)
    # The turn the drop cut: its reply never finished, so it is not replayed as if it had been heard (its user
    # transcript is, when it was done before the drop).
    assert 'assistant' not in [role for role, _ in carried[len(history):]], carried
    notice = voice.page.locator('.vu-notice').inner_text()
    assert 'connection dropped' in notice and 'lost' in notice, notice  # the cut-off turn is said to be lost
    assert_no_error_banner(voice)
    type_turn(voice, 'Still there?')  # and the conversation goes on
    assert voice.cards('user')[-1] == 'Still there?'
    assert_no_error_banner(voice)


def test_after_a_reload_the_restored_conversation_is_replayed_into_the_new_session(voice, control):
    """The tab reloads (or its replica died and another renders it): the kept transcript comes back as cards, and the
    next voice session is told it too, so the agent remembers what the page shows."""
    if not voice.cards('user'):  # run alone: a conversation to keep first
        type_turn(voice, FIRST)
    voice.page.wait_for_timeout(2500)  # the keeper's coalesced write (at most one a second) is in the store
    users, agents = voice.cards('user'), voice.cards('assistant')
    voice.page.reload()
    voice.open(voice.page.url)  # the re-rendered page's component
    voice.page.get_by_text('The conversation so far was restored').wait_for(timeout=30_000)
    assert voice.cards('user') == users and voice.cards('assistant') == agents
    third = 'And what did I say first?'
    type_turn(voice, third)
    [target] = [log for log in control.sessions() if any(e['type'] == ClientEvent.ITEM_CREATE and not e[
        'event_id'].startswith('replay_') and e['item']['content'][0]['text'] == third for e in log['client_events'])]
    items = replayed(target)
    assert items and all(item['id'].startswith('earlier-') for item in items), [item['id'] for item in items]
    assert texts(items)[:2] == [('user', users[0]), ('assistant', agents[0])]
    assert [text for role, text in texts(items) if role == 'user'] == users
    for event in target['client_events']:
        validate_client_event(event)
    assert voice.cards('user') == users + [third]  # the replay's echoes made no new cards
    assert_no_error_banner(voice)


def test_space_held_while_reconnecting_is_a_turn_of_the_new_session(voice, control):
    """A drop is being renewed (status reconnecting, a backoff under way): holding Space (or pressing Start) is not
    ignored. The backoff is cut short, the new microphone captures from the press, and the turn goes to the new
    session once it is up, then is committed and answered."""
    count = drop_the_next_reply(voice, control, 1.5, 'voice.status === "reconnecting"', polling=5)
    sessions_before = len(control.sessions())  # the dropped session is among them
    voice.page.keyboard.down('Space')
    voice.page.wait_for_function(f'getElement({voice.element_id}).voice.capturing === true', timeout=20_000)
    voice.page.wait_for_timeout(1500)
    voice.page.keyboard.up('Space')
    voice.wait_status('idle', timeout_ms=30_000)
    state = renewal(voice)
    assert state['renewals'] > count and state['reason'] == 'dropped', state
    logs = control.sessions()[sessions_before - 1:]
    committed = [log for log in logs if any(e['type'] == ClientEvent.INPUT_AUDIO_COMMIT for e in log['client_events'])]
    spoken = committed[-1]  # the dropped session had the turn before: this one came after the drop
    assert not spoken['outcome'].startswith('dropped') and logs.index(spoken) > 0, [log['outcome'] for log in logs]
    kinds = [e['type'] for e in spoken['client_events']]
    first_append = kinds.index(ClientEvent.INPUT_AUDIO_APPEND)
    assert kinds[0] == ClientEvent.SESSION_UPDATE and first_append < kinds.index(ClientEvent.INPUT_AUDIO_COMMIT)
    assert 'response.done' in spoken['server_events'][spoken['server_events'].index('input_audio_buffer.committed'):]
    appended_ms = sum(e['audio_bytes'] for e in spoken['client_events']  # decoded PCM16 at 24 kHz: 48 bytes a ms
                      if e['type'] == ClientEvent.INPUT_AUDIO_APPEND) / 48
    assert appended_ms >= 1450, appended_ms  # the held Space's audio (1.5 s after the turn began), from the press on
    assert_no_error_banner(voice)
