"""Pages that never report a status (a script holding NiceGUI's socket): on the OpenAI path the server cannot see
the voice sessions, so what `VOICE_UI_MAX_SESSIONS` must hold is what pages can do — every page holding a token it
has not reported on, or reporting a session open, takes a slot — and a silent page gets no stream of tokens.

A fake clock drives both the pages' token expiry and the session counter; the token service is a stand-in that
stamps tokens with that clock (the HTTP minting itself is tested in test_access_tokens.py)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings, strategies as st

from voice_ui.access import Identity, create_access
from voice_ui.access.limits import OPEN_STATUSES, SessionCounter
from voice_ui.access.page_tokens import PageTokens
from voice_ui.config import Settings
from voice_ui.token_service import EXPIRY_MARGIN_S, EphemeralToken, TokenError

ANA = Identity('ana', 'user:ana', 'header')
STATUSES = ['connecting', 'listening', 'speaking', 'idle', 'closed', 'error']


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeService:
    """What PageTokens uses of TokenService: `settings.token_ttl_s` and `mint(session)`."""
    clock: Clock
    settings: Settings
    minted: list[EphemeralToken] = field(default_factory=list)

    async def mint(self, session: Settings | None = None) -> EphemeralToken:
        token = EphemeralToken(f'ek_{len(self.minted)}', self.clock() + self.settings.token_ttl_s)
        self.minted.append(token)
        return token


def person(max_sessions: int, ttl: int = 60) -> tuple[Clock, FakeService, object]:
    clock = Clock()
    settings_ = Settings(api_key='sk-limit-test', max_sessions=max_sessions, mints_per_minute=10_000, token_ttl_s=ttl)
    access = create_access(settings_)
    access.open_sessions = SessionCounter(max_sessions, clock=clock)
    return clock, FakeService(clock, settings_), access


def page(service, access, clock, name: str) -> PageTokens:
    return PageTokens(service, access, ANA, name, connected=lambda: True, clock=clock)


async def test_a_silent_page_holds_its_slot_for_its_tokens_whole_life():
    clock, service, access = person(max_sessions=1, ttl=120)
    silent, other = page(service, access, clock, 'script'), page(service, access, clock, 'tab')
    await silent.get('prefetch')  # before: a prefetch reserved nothing, so every page of a script could have one
    with pytest.raises(TokenError) as refused:
        await other.get('start')
    assert refused.value.kind == 'session_limit'
    silent_start = page(service, access, clock, 'script-2')
    clock.now += 31  # before: a start reservation lapsed after 30 s while its 120 s token still opened sessions
    with pytest.raises(TokenError):
        await silent_start.get('start')
    clock.now += 120 - 31  # the token has expired: it can open nothing more, and its slot is free
    assert (await other.get('start')).value == 'ek_1'


async def test_a_silent_page_gets_no_stream_of_tokens_even_when_they_are_short_lived():
    clock, service, access = person(max_sessions=1, ttl=12)  # usable for only 2 s: nearly every ask would mint
    silent = page(service, access, clock, 'script')
    await silent.get('start')
    for _ in range(40):  # 20 s of asking twice a second, never saying what it did with the tokens
        clock.now += 0.5
        try:
            await silent.get('start')
        except TokenError as error:
            assert error.kind == 'unused_token' and 'Try again in' in error.message
    # Before: a new token every 0.5 s once the last was unusable (~30 here). Now one per EXPIRY_MARGIN_S at most.
    assert len(service.minted) <= 1 + 20 // EXPIRY_MARGIN_S, len(service.minted)
    silent.status('idle')  # a page that reports is not held back
    clock.now += 3
    await silent.get('start')
    assert len(service.minted) == 2 + 20 // EXPIRY_MARGIN_S


@dataclass
class Seen:
    """What a page was given and said, as the invariant sees it."""
    unreported_until: float | None = None  # expiry of the newest token it got since its last status
    unreported_tokens: list[float] = field(default_factory=list)
    open: bool = False
    closed: bool = False


OPS = st.lists(st.one_of(
    st.tuples(st.just('get'), st.integers(0, 3), st.sampled_from(['start', 'prefetch'])),
    st.tuples(st.just('status'), st.integers(0, 3), st.sampled_from(STATUSES)),
    st.tuples(st.just('close'), st.integers(0, 3), st.none()),
    st.tuples(st.just('wait'), st.sampled_from([0.5, 3, 9, 31, 61]), st.none()),
), max_size=40)


@settings(max_examples=150, deadline=None)
@given(limit=st.integers(1, 2), ttl=st.sampled_from([10, 15, 30, 60]), ops=OPS)
def test_pages_that_can_open_sessions_never_outnumber_the_limit(limit, ttl, ops):
    """Whatever pages ask for and report: the pages that hold a live token they have not reported on, or report a
    session open, are never more than the limit; and no page holds more than two unreported live tokens."""
    asyncio.run(run_ops(limit, ttl, ops))


async def run_ops(limit: int, ttl: int, ops) -> None:
    clock, service, access = person(limit, ttl)
    pages = [page(service, access, clock, f'p{i}') for i in range(4)]
    seen = [Seen() for _ in pages]
    for op, arg, extra in ops:
        if op == 'wait':
            clock.now += arg
        elif seen[arg].closed:
            continue
        elif op == 'get':
            try:
                token = await pages[arg].get(extra)
            except TokenError:
                pass
            else:
                seen[arg].unreported_until = max(seen[arg].unreported_until or 0.0, token.expires_at)
                if token.expires_at not in seen[arg].unreported_tokens:
                    seen[arg].unreported_tokens.append(token.expires_at)
        elif op == 'status':
            allowed = pages[arg].status(extra)
            seen[arg].open, seen[arg].unreported_until, seen[arg].unreported_tokens = \
                allowed and extra in OPEN_STATUSES, None, []
        else:
            pages[arg].close()
            seen[arg].closed = True
        capable = [s for s in seen if not s.closed and
                   (s.open or (s.unreported_until is not None and s.unreported_until > clock.now))]
        assert len(capable) <= limit, (op, arg, extra, seen)
        for s in seen:
            assert len([t for t in s.unreported_tokens if t > clock.now]) <= 2, s
