"""The login page (a NiceGUI page), the ticket-for-cookie route, logout, and the header's "signed in as" row.

A wrong password, an unknown name and a malformed input all get the same words after the same delay; failed
attempts are limited per client address. The password never leaves the handler: not logged, not kept. The ticket
a right password yields signs in only the browser that loaded the form (login_binding.py).
"""
from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

from nicegui import app, ui
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..metrics import METRICS
from .core import SCOPE_KEY, Access, Identity
from .limits import seconds
from .login_binding import SCOPE_KEY as BINDING_KEY
from .login_binding import presented, ticket_holder
from .middleware import LOGIN_PATH, LOGOUT_PATH, SIGNIN_PATH
from .revocation import Revoker
from .sessions import COOKIE, SignIn
from .store import LOGIN_ATTEMPTS
from .socket_guard import PUBLIC

FAILURE_DELAY_S = 1.0  # every failed attempt takes at least this long, whatever failed
MAX_NAME, MAX_PASSWORD = 64, 1024


def register_login(access: Access) -> None:
    @ui.page(LOGIN_PATH, title='Sign in · voice-ui')
    def login_page(request: Request, next: str = '/') -> Response | None:
        target = safe_next(next)
        if request.scope.get(SCOPE_KEY) is not None:
            return RedirectResponse(target, 303)  # already signed in
        access.bind_page(ui.context.client, PUBLIC)
        address = access.client_address(request.scope)
        LoginForm(access, address, ticket_holder(address, request.scope.get(BINDING_KEY)), target)
        return None

    @app.get(SIGNIN_PATH, include_in_schema=False)
    def sign_in(request: Request, ticket: str = '', next: str = '/') -> Response:
        # Only the browser that loaded the login page holds its binding cookie: a ticket sent to anyone else (a
        # link, a redirect, a neighbour behind the same proxy) is spent and signs nobody in.
        holder = ticket_holder(access.client_address(request.scope),
                               presented(request.scope, access.is_secure(request.scope)))
        signed_in = access.sessions.redeem(ticket[:128], holder or '')
        if signed_in is None:
            return RedirectResponse(LOGIN_PATH, 303)
        response = RedirectResponse(safe_next(next), 303)
        response.set_cookie(COOKIE, access.sessions.cookie_for(signed_in), max_age=int(access.sessions.lifetime_s),
                            path='/', httponly=True, samesite='lax', secure=access.is_secure(request.scope))
        response.headers['Cache-Control'] = 'no-store'
        return response

    @app.get(LOGOUT_PATH, include_in_schema=False)
    def logout(request: Request) -> Response:
        if not from_this_site(access, request):  # a link or redirect on another site cannot sign anyone out
            return RedirectResponse('/', 303)
        identity = request.scope.get(SCOPE_KEY)
        if isinstance(identity, Identity) and identity.session_id:
            end_sign_in(access, identity)
        response = RedirectResponse(LOGIN_PATH, 303)
        response.delete_cookie(COOKIE, path='/', httponly=True, samesite='lax', secure=access.is_secure(request.scope))
        return response


class LoginForm:
    def __init__(self, access: Access, address: str, holder: str | None, target: str) -> None:
        self.access, self.address, self.holder, self.target = access, address, holder, target
        book = access.book
        self.generic = 'Wrong name or password.' if book and book.needs_name else 'Wrong password.'
        with ui.card().classes('vu-login mx-auto mt-24 w-80 gap-3'):
            ui.label('voice-ui').classes('text-2xl font-semibold')
            ui.label('Sign in to talk.')
            self.name = ui.input('Name').props('autocomplete=username autofocus').classes('w-full').mark('name') \
                if book and book.needs_name else None
            self.password = ui.input('Password', password=True).props('autocomplete=current-password') \
                .classes('w-full').mark('password')
            self.password.on('keydown.enter', self.submit)
            self.message = ui.label().classes('vu-login-error text-negative').props('role=alert').mark('message')
            self.button = ui.button('Sign in', on_click=self.submit).classes('w-full').mark('sign-in')

    async def submit(self) -> None:
        if not self.button.enabled:
            return
        if self.holder is None:  # no binding cookie was set with this page (not served through the gate)
            self.message.text = 'This sign-in page has expired. Reload it to sign in.'
            return
        self.button.disable()
        self.message.text = ''
        name, password = (self.name.value if self.name else '') or '', self.password.value or ''
        self.password.value = ''
        try:
            outcome = await attempt(self.access, self.address, str(name).strip(), str(password), self.generic)
        finally:
            self.button.enable()
        if isinstance(outcome, str):
            self.message.text = outcome
            return
        ticket = self.access.sessions.ticket_for(outcome, self.holder)
        ui.navigate.to(f'{SIGNIN_PATH}?ticket={ticket}&next={quote(self.target, safe="")}')


class AddressQueue:
    """One address's sign-in attempts, checked one after another: each sees the failures before it, so a burst from
    many login pages at once gets no more guesses than the lockout allows (all of them used to pass its check)."""

    def __init__(self) -> None:
        self.turn, self.waiting = asyncio.Lock(), 0


async def attempt(access: Access, address: str, name: str, password: str, generic: str) -> SignIn | str:
    """A sign-in, or the words to show. Unknown name, wrong password and bad input look alike, and take as long."""
    key = f'ip:{address}'
    queue = access.sign_in_queues.setdefault(key, AddressQueue())
    if queue.waiting >= LOGIN_ATTEMPTS:  # more at once than could ever be checked: no use queueing them
        return 'Too many sign-ins from this address at once. Try again in a moment.'
    queue.waiting += 1
    try:
        async with queue.turn:
            return await checked_attempt(access, key, name, password, generic)
    finally:
        queue.waiting -= 1
        if not queue.waiting:
            access.sign_in_queues.pop(key, None)  # memory stays bounded by the attempts under way


async def checked_attempt(access: Access, key: str, name: str, password: str, generic: str) -> SignIn | str:
    wait = access.failed_logins.retry_after(key)
    if wait:
        return f'Too many failed sign-ins from this address. Try again in {seconds(wait)} s.'
    started = time.monotonic()
    book = access.book
    who = None
    if book is not None and 0 < len(password) <= MAX_PASSWORD and len(name) <= MAX_NAME:
        await asyncio.to_thread(access.refresh_users)  # a name just removed from the users file signs in no more
        async with access.password_checks:
            who = await asyncio.to_thread(book.check, name, password)
    if who is None:
        METRICS.count('voice_ui_sign_ins_total', outcome='failed')
        access.failed_logins.record(key)
        await asyncio.sleep(max(0.0, started + FAILURE_DELAY_S - time.monotonic()))
        return generic
    METRICS.count('voice_ui_sign_ins_total', outcome='ok')
    return access.sessions.create(who, 'users' if who else 'password')


def end_sign_in(access: Access, identity: Identity) -> None:
    """End the sign-in everywhere: its open pages here go to the login page at once, those on other replicas when
    they hear of it (revocation.py)."""
    access.sessions.end(identity.session_id)
    access.shared_state.transcripts.forget(identity.session_id)  # its tabs' kept conversations go with it
    Revoker(access, LOGOUT_PATH).ended(identity.session_id)


def account_row(access: Access, identity: Identity) -> None:
    """'Signed in as …' and Sign out, for the page header (nothing when nobody signs in)."""
    if not identity.signed_in:
        return
    with ui.row().classes('vu-account items-center gap-2'):
        ui.label(identity.label).classes('vu-signed-in').mark('signed-in')
        if identity.session_id:  # a proxy's sign-in ends at the proxy
            ui.button('Sign out', icon='logout', on_click=lambda: end_sign_in(access, identity)) \
                .props('flat dense').mark('sign-out')


def from_this_site(access: Access, request: Request) -> bool:
    """A navigation this server's pages made (Sign out, a revoked page): the browser's Sec-Fetch-Site says so, or,
    from a browser that sends none, a Referer (if any) naming this host. Cookies are SameSite=Lax, so another
    site's link still carries the sign-in on a top-level GET."""
    site = request.headers.get('sec-fetch-site')
    if site is not None:
        return site in ('same-origin', 'none')  # none: typed into the address bar, a bookmark
    referer = request.headers.get('referer')
    if referer is None:
        return True  # no browser's cross-site navigation: a script, which could as well send the cookie itself
    origin = '/'.join(referer.split('/', 3)[:3])  # scheme://host[:port]
    return access.hosts.same_origin(origin, request.headers.get('host'))


def safe_next(target: str) -> str:
    """Only a path on this server (no `//host`, no scheme): the login page is no open redirect."""
    target = (target or '/')[:2000]
    if not target.startswith('/') or target.startswith(('//', '/\\')) or any(ord(c) < 32 for c in target):
        return '/'
    if target.split('?')[0] in (LOGIN_PATH, LOGOUT_PATH, SIGNIN_PATH):
        return '/'
    return target
