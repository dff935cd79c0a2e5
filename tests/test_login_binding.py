"""A sign-in ticket belongs to the browser that loaded the login page, not just to its address (everyone behind a
proxy missing from VOICE_UI_TRUSTED_PROXIES shares one): the binding cookie the gate sets with the login page, and
the ticket store's check of it, against drawn addresses, cookies and hostile cookie values."""
from __future__ import annotations

import asyncio

from hypothesis import given, settings, strategies as st

from voice_ui.access.login_binding import COOKIE, SCOPE_KEY, SECURE_COOKIE, ensure_binding, ticket_holder
from voice_ui.access.sessions import SessionStore

ADDRESS = st.sampled_from(['127.0.0.1', '10.0.0.7', '2001:db8::1', 'unknown'])
BINDING = st.text(alphabet='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', min_size=43,
                  max_size=43)


@settings(max_examples=200, deadline=None)
@given(issued=st.tuples(ADDRESS, BINDING), presented=st.tuples(ADDRESS, st.one_of(st.none(), BINDING, st.text())))
def test_a_ticket_is_redeemed_only_by_its_own_address_and_browser_and_only_once(issued, presented):
    store = SessionStore(3600)
    sign_in = store.create('', 'password')
    ticket = store.ticket_for(sign_in, ticket_holder(*issued))
    holder = ticket_holder(*presented)
    redeemed = store.redeem(ticket, holder or '')
    assert (redeemed is sign_in) == (presented == issued), (issued, presented)
    assert store.redeem(ticket, ticket_holder(*issued)) is None  # spent by the first try, whoever made it


@given(binding=st.one_of(st.none(), st.text(max_size=100)))
def test_no_binding_or_a_malformed_one_is_no_holder(binding):
    if binding is None or len(binding) != 43 or not all(c.isascii() and (c.isalnum() or c in '-_') for c in binding):
        assert ticket_holder('127.0.0.1', binding) is None
    else:
        assert ticket_holder('127.0.0.1', binding) != ticket_holder('10.0.0.7', binding)


def gate(cookie_header: str | None, secure: bool) -> tuple[dict, list[bytes]]:
    """What `ensure_binding` leaves in the scope, and the Set-Cookie headers the login page's response gets."""
    scope = {'type': 'http', 'headers': [(b'cookie', cookie_header.encode('latin-1'))] if cookie_header else []}
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)
    wrapped = ensure_binding(scope, send, secure)
    asyncio.run(wrapped({'type': 'http.response.start', 'status': 200, 'headers': [(b'x', b'y')]}))
    return scope, [value for name, value in sent[0]['headers'] if name == b'set-cookie']


def test_the_login_page_sets_a_strict_http_only_cookie_once():
    scope, set_cookies = gate(None, secure=False)
    [header] = set_cookies
    value = scope[SCOPE_KEY]
    assert header.decode() == f'{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict'
    again, set_again = gate(f'other=1; {COOKIE}={value}', secure=False)
    assert again[SCOPE_KEY] == value and not set_again  # the same browser keeps its binding (other tabs' tickets)
    secure, [secure_header] = gate(None, secure=True)  # over TLS: no sibling subdomain can plant it
    assert secure_header.decode().startswith(f'{SECURE_COOKIE}=') and secure_header.endswith(b'; Secure')
    plain_over_tls, set_tls = gate(f'{COOKIE}={value}', secure=True)  # the non-__Host- name counts for nothing
    assert plain_over_tls[SCOPE_KEY] != value and set_tls


@settings(max_examples=100, deadline=None)
@given(junk=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xff, exclude_characters=';'),
                    max_size=200))
def test_a_forged_cookie_value_is_replaced_not_believed(junk):
    scope, set_cookies = gate(f'{COOKIE}={junk}', secure=False)
    if ticket_holder('x', junk.strip('"')) is None:
        assert scope[SCOPE_KEY] != junk and len(set_cookies) == 1
    assert ticket_holder('x', scope[SCOPE_KEY]) is not None
