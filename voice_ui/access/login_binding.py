"""Which browser a sign-in ticket belongs to: a random value in a cookie set with the login page (double submit).

The password check runs over NiceGUI's socket, which cannot set cookies, so a right password yields a one-time
ticket that the browser trades for the sign-in cookie with a GET (login.py). Bound only to the client address, a
ticket could be redeemed by anyone sharing that address — everyone behind a reverse proxy that is not in
VOICE_UI_TRUSTED_PROXIES — so an attacker could send a victim to their own ticket's URL and sign the victim in as
the attacker (login CSRF: the victim's words land in the attacker's conversation). The ticket is therefore also
bound to this cookie, which only the browser that loaded the login page holds: HttpOnly, SameSite=Strict (another
site's link or <img> does not even send it), and `__Host-` over TLS, so a sibling subdomain cannot plant one.

    send = ensure_binding(scope, send, secure)    # the middleware, for the login page: reuse or set the cookie
    holder = ticket_holder(address, binding)       # what the ticket is bound to (None: no binding, no ticket)
"""
from __future__ import annotations

import hashlib
import re
import secrets

from .core import cookie, header_map

COOKIE, SECURE_COOKIE = 'voice_ui_login', '__Host-voice_ui_login'
SCOPE_KEY = 'voice_ui.login_binding'  # where the middleware leaves the login page's binding for the form
VALUE = re.compile(r'[A-Za-z0-9_-]{43}')  # secrets.token_urlsafe(32): anything else is minted anew


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def presented(scope: dict, secure: bool) -> str | None:
    """The request's binding cookie, if it carries a well-formed one."""
    value = cookie(header_map(scope).get('cookie', ''), cookie_name(secure))
    return value if value is not None and VALUE.fullmatch(value) else None


def ensure_binding(scope: dict, send, secure: bool):
    """Leave the browser's binding in `scope[SCOPE_KEY]`; when it has none, mint one and return a `send` that sets
    it with the response (the login page), else `send` itself."""
    value = presented(scope, secure)
    if value is not None:
        scope[SCOPE_KEY] = value
        return send
    value = scope[SCOPE_KEY] = secrets.token_urlsafe(32)
    header = f'{cookie_name(secure)}={value}; Path=/; HttpOnly; SameSite=Strict' + ('; Secure' if secure else '')

    async def send_with_cookie(message: dict) -> None:
        if message['type'] == 'http.response.start':
            message = {**message, 'headers': [*message.get('headers', []), (b'set-cookie', header.encode())]}
        await send(message)
    return send_with_cookie


def ticket_holder(address: str, binding: str | None) -> str | None:
    """What a ticket is bound to: the client address and (a hash of) the browser's binding; None without one, so
    a request with no cookie never matches anything."""
    if binding is None or not VALUE.fullmatch(binding):
        return None
    return f'{address} {hashlib.sha256(binding.encode()).hexdigest()[:32]}'
