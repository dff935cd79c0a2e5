"""A sign-in that ends ends everywhere at once: every open page rendered for it, on every replica, leaves.

How a replica learns that a sign-in ended:
- here: Sign out on one of its pages, or /logout through it (`login.end_sign_in`);
- on another replica: that replica's `end()` publishes the hashed session id on Redis (`voice_ui:revoked`), and
  every replica's listener hears it within milliseconds (`RedisSignIns.listen`);
- `python -m voice_ui.users remove NAME` ends the name's sign-ins in Redis and publishes them (`revoke_user`), and
  every replica re-reads the users file when it changes, so the name signs in nowhere any more;
- a sweep every `SWEEP_S` seconds re-checks each open page's sign-in, in case a message was missed (Redis
  restarted, a replica's subscription was reconnecting).

Leaving means: the page is sent to /logout (then to the sign-in page), nothing it sends over its socket counts any
more (the socket guard drops it), it can no longer bind a socket, and its socket is closed a moment later — a
client that ignores the navigation keeps nothing.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging

from nicegui import Client, background_tasks, core, ui

from ..metrics import METRICS
from .core import Access, Identity

log = logging.getLogger('voice_ui.access')
REVOKED = 'revoked'     # access.pages value of a page whose sign-in ended
SWEEP_S = 5.0
CLOSE_AFTER_S = 2.0     # the navigation goes out first; then the socket closes


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Revoker:
    def __init__(self, access: Access, logout_path: str, sweep_s: float = SWEEP_S) -> None:
        self.access, self.logout_path, self.sweep_s = access, logout_path, sweep_s

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        listen = getattr(self.access.sessions, 'listen', None)
        if listen is not None:  # Redis: hear other replicas' logouts
            listen(lambda hashed: loop.call_soon_threadsafe(self.ended_hashed, hashed))
        background_tasks.create(self._sweep_forever(), name='voice-ui-sign-in-sweep')

    def ended(self, session_id: str) -> int:
        return self.send_away(lambda identity: identity.session_id == session_id)

    def ended_hashed(self, hashed: str) -> int:
        return self.send_away(lambda identity: bool(identity.session_id) and digest(identity.session_id) == hashed)

    def send_away(self, whose) -> int:
        """Every page on this replica rendered for a matching identity leaves; returns how many."""
        pages = self.access.pages
        gone = [client_id for client_id, identity in list(pages.items())
                if isinstance(identity, Identity) and whose(identity)]
        for client_id in gone:
            pages[client_id] = REVOKED
            client = Client.instances.get(client_id)
            if client is not None and client.has_socket_connection:
                with client:
                    ui.navigate.to(self.logout_path)
                background_tasks.create(close_sockets(client_id), name='voice-ui-close-revoked')
        if gone:
            METRICS.count('voice_ui_revoked_pages_total', amount=len(gone))
        return len(gone)

    async def sweep(self) -> int:
        """Re-check every open page's sign-in (and the users file): pages whose sign-in ended leave."""
        access = self.access
        await asyncio.to_thread(access.refresh_users)
        identities = {i.session_id: i for i in list(access.pages.values()) if isinstance(i, Identity) and i.session_id}
        ended = set()
        for session_id, identity in identities.items():
            try:
                valid = await asyncio.to_thread(access.still_valid, identity)
            except access.shared_state.errors:
                return 0  # shared state away: judge nobody on a failed read; the next sweep tries again
            if not valid:
                ended.add(session_id)
        return self.send_away(lambda identity: identity.session_id in ended) if ended else 0

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_s)
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 - the sweep must outlive any one failure
                log.exception('sign-in sweep failed')


async def close_sockets(client_id: str) -> None:
    await asyncio.sleep(CLOSE_AFTER_S)
    for sid, _ in list(core.sio.manager.get_participants('/', client_id)):
        await core.sio.disconnect(sid)


def revoke_user(settings, name: str) -> str:
    """End every sign-in of `name` in the replicas' shared state and tell them (for `python -m voice_ui.users remove`):
    what happened, in words. Without Redis there is nothing shared to end: each running replica drops the name
    when it sees the users file change (within a second)."""
    if not settings.redis_url:
        return 'running replicas drop the name as soon as they see the file change'
    from redis import RedisError

    from .redis_store import open_client, revoke_name
    try:
        ended = revoke_name(open_client(settings.redis_url), name)
    except RedisError as error:
        return f'warning: could not reach Redis ({type(error).__name__}): {name}\'s open sign-ins end when they expire'
    return f'ended {ended} open sign-in{"s" if ended != 1 else ""} of {name} on every replica'
