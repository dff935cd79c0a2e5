"""Password guessing against the login form: many login pages of one address submitting at once must not get more
guesses than the lockout allows (each attempt checked the lockout before any earlier one had failed)."""
from __future__ import annotations

import asyncio

import pytest

from voice_ui.access import Access
from voice_ui.access import login
from voice_ui.access.store import LOGIN_ATTEMPTS
from voice_ui.access.users_file import PasswordBook, hash_password
from voice_ui.config import Settings

PASSWORD = 'correct horse battery'


@pytest.fixture
def access(monkeypatch) -> Access:
    monkeypatch.setattr(login, 'FAILURE_DELAY_S', 0.05)  # the delay's length is not what is tested here
    book = PasswordBook(shared=hash_password(PASSWORD))
    checked: list[str] = []
    original = book.check
    book.check = lambda name, password: (checked.append(password), original(name, password))[1]
    access = Access(Settings(password=PASSWORD), book)
    access.checked = checked
    return access


async def test_a_burst_of_guesses_from_one_address_gets_no_more_than_the_lockout_allows(access):
    guesses = [f'guess number {i}' for i in range(60)] + [PASSWORD]  # the last one would be right
    outcomes = await asyncio.gather(*(login.attempt(access, '203.0.113.9', '', guess, 'Wrong password.')
                                      for guess in guesses))
    assert len(access.checked) <= LOGIN_ATTEMPTS, f'{len(access.checked)} passwords were checked'
    assert all(isinstance(outcome, str) for outcome in outcomes)  # the right one came after the lockout
    assert sum('Too many' in outcome for outcome in outcomes) >= len(guesses) - LOGIN_ATTEMPTS
    assert not access.sign_in_queues  # nothing left behind per address


async def test_other_addresses_and_a_later_right_password_are_not_held_up(access):
    burst = [login.attempt(access, '203.0.113.9', '', f'wrong {i}', 'Wrong password.') for i in range(30)]
    friend = login.attempt(access, '198.51.100.4', '', PASSWORD, 'Wrong password.')
    *_, signed_in = await asyncio.gather(*burst, friend)
    assert not isinstance(signed_in, str)  # a sign-in from elsewhere went through during the burst
    locked = await login.attempt(access, '203.0.113.9', '', PASSWORD, 'Wrong password.')
    assert 'Too many' in locked
    assert access.checked.count(PASSWORD) == 1  # the locked address's right password was not even checked
