"""Access state in Redis, shared by every replica: sign-ins and tickets, rate windows, open voice sessions.

- Keys are hashes of secrets (a session id or ticket is as good as a password): reading Redis signs nobody in.
- Every check-and-change is one Lua script, so two replicas cannot both take the last slot; times come from
  Redis's own clock (`TIME`), so replicas with skewed clocks still agree.
- Nothing lives forever: sign-ins and tickets expire, windows and open-session hashes carry a TTL, and an open
  session is a lease this replica renews every few seconds, so a replica that dies frees its people's slots.

The client is redis-py's synchronous one (calls on a LAN take well under a millisecond, as the sign-in checks in
the middleware are synchronous); connect/read timeouts keep a lost Redis from hanging a request for long.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass

import redis
from itsdangerous import BadSignature

from ..config import Settings
from ..conversation_store import RedisTranscripts
from .limits import OPEN_STATUSES, RESERVATION_S
from .sessions import TICKET_TTL_S, SignIn, cookie_serializer
from .store import LOGIN_ATTEMPTS, LOGIN_WINDOW_S, Stores

PREFIX = 'voice_ui:'
REVOKED_CHANNEL = f'{PREFIX}revoked'  # hashed session ids of sign-ins that just ended, for every replica's pages
TIMEOUT_S = 1.0
LEASE_S, RENEW_S = 20.0, 5.0  # an open session's lease, and how often its replica renews it
MAX_COOKIE = 512

# KEYS[1]: the key's sorted set of event times. ARGV: window, limit, mode (peek, take, record), a unique member.
TAKE = """
local t = redis.call('TIME'); local now = t[1] + t[2] / 1e6
local window, limit, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if mode ~= 'record' and count >= limit then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(math.max(0.1, first[2] + window - now))
end
if mode == 'peek' then return '0' end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(limit + 1))
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return '0'
"""
# KEYS[1]: the person's hash of page -> lease end. ARGV: page, seconds to hold, limit (0: no check), mode
# (count, holds, hold: set the lease end, reserve: set it only later).
HOLD = """
local t = redis.call('TIME'); local now = t[1] + t[2] / 1e6
local fields = redis.call('HGETALL', KEYS[1]); local live = 0; local held = false
for i = 1, #fields, 2 do
  if tonumber(fields[i + 1]) <= now then redis.call('HDEL', KEYS[1], fields[i])
  else live = live + 1; if fields[i] == ARGV[1] then held = true end end
end
if ARGV[4] == 'count' then return live end
if ARGV[4] == 'holds' then return held and 1 or 0 end
local limit = tonumber(ARGV[3])
if not held and limit > 0 and live >= limit then return 0 end
local ends = now + tonumber(ARGV[2])
if ARGV[4] == 'reserve' and held then ends = math.max(ends, tonumber(redis.call('HGET', KEYS[1], ARGV[1]))) end
redis.call('HSET', KEYS[1], ARGV[1], ends)
redis.call('EXPIRE', KEYS[1], 86400)
return 1
"""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class RedisSignIns:
    def __init__(self, client: redis.Redis, lifetime_s: float, secret: bytes) -> None:
        self.redis, self.lifetime_s = client, lifetime_s
        self._serializer = cookie_serializer(secret)
        self._clients: dict[str, set[str]] = {}  # session id -> this replica's pages for it (sent away on logout)

    def create(self, name: str, method: str) -> SignIn:
        sign_in = SignIn(secrets.token_urlsafe(32), name, method, time.time() + self.lifetime_s)
        record = json.dumps({'name': name, 'method': method, 'expires_at': sign_in.expires_at})
        lifetime, index = max(1, int(self.lifetime_s)), f'{PREFIX}signins_of:{digest(name)}'
        self.redis.pipeline().set(f'{PREFIX}signin:{digest(sign_in.id)}', record, ex=lifetime) \
            .sadd(index, digest(sign_in.id)).expire(index, lifetime).execute()  # the name's sign-ins, for removal
        self._forget_idle()
        return self._attach(sign_in)

    def cookie_for(self, sign_in: SignIn) -> str:
        return self._serializer.dumps(sign_in.id)

    def from_cookie(self, cookie: str | None) -> SignIn | None:
        if not cookie or len(cookie) > MAX_COOKIE:
            return None
        try:
            session_id = self._serializer.loads(cookie, max_age=self.lifetime_s)
        except BadSignature:
            return None
        return self.get(session_id) if isinstance(session_id, str) else None

    def get(self, session_id: str) -> SignIn | None:
        if not session_id:
            return None
        return self._parse(session_id, self.redis.get(f'{PREFIX}signin:{digest(session_id)}'))

    def end(self, session_id: str) -> SignIn | None:
        """Revoked for every replica at once: the record goes, so any replica's next check finds nothing."""
        sign_in = self._parse(session_id, self.redis.getdel(f'{PREFIX}signin:{digest(session_id)}'))
        self._clients.pop(session_id, None)
        self.redis.publish(REVOKED_CHANNEL, digest(session_id))
        return sign_in

    def listen(self, on_revoked) -> None:
        """Call `on_revoked(hashed session id)` (from a thread) whenever any replica ends a sign-in."""
        threading.Thread(target=self._listen_forever, args=(on_revoked,), name='voice-ui-revocations',
                         daemon=True).start()

    def _listen_forever(self, on_revoked) -> None:
        while True:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(REVOKED_CHANNEL)
                while True:
                    message = pubsub.get_message(timeout=0.5)
                    data = message.get('data') if message else None
                    if isinstance(data, bytes) and len(data) == 64:
                        on_revoked(data.decode('ascii', 'replace'))
            except redis.RedisError:
                time.sleep(1.0)  # Redis away: resubscribe; the sweep covers what was said meanwhile

    def ticket_for(self, sign_in: SignIn, holder: str) -> str:
        ticket = secrets.token_urlsafe(32)
        self.redis.set(f'{PREFIX}ticket:{digest(ticket)}', json.dumps([sign_in.id, holder]), ex=TICKET_TTL_S)
        return ticket

    def redeem(self, ticket: str, holder: str) -> SignIn | None:
        if not ticket:
            return None
        raw = self.redis.getdel(f'{PREFIX}ticket:{digest(ticket)}')
        try:
            session_id, issued_to = json.loads(raw) if raw else ('', '')
        except (ValueError, TypeError):
            return None
        return self.get(session_id) if holder and issued_to == holder and isinstance(session_id, str) else None

    def _parse(self, session_id: str, raw: bytes | None) -> SignIn | None:
        try:
            record = json.loads(raw) if raw else None
            sign_in = SignIn(session_id, str(record['name']), str(record['method']), float(record['expires_at']))
        except (ValueError, TypeError, KeyError):
            return None
        return self._attach(sign_in)

    def _attach(self, sign_in: SignIn) -> SignIn:
        sign_in.clients = self._clients.setdefault(sign_in.id, set())
        return sign_in

    def _forget_idle(self) -> None:
        for session_id in [i for i, pages in self._clients.items() if not pages][:100]:
            del self._clients[session_id]


class RedisWindow:
    """At most `limit` events per `window_s` per key, counted across replicas (a sorted set of event times)."""

    def __init__(self, client: redis.Redis, name: str, limit: int, window_s: float) -> None:
        self.redis, self.name, self.limit, self.window_s = client, name, limit, window_s
        self._script = client.register_script(TAKE)

    def _run(self, key: str, mode: str) -> float:
        return float(self._script(keys=[f'{PREFIX}{self.name}:{key}'],
                                  args=[self.window_s, self.limit, mode, secrets.token_hex(8)]))

    def retry_after(self, key: str) -> float:
        return self._run(key, 'peek')

    def take(self, key: str) -> float:
        return self._run(key, 'take')

    def record(self, key: str) -> None:
        self._run(key, 'record')


class RedisOpenSessions:
    """Each person's open voice sessions, across replicas. Fields are `<replica>/<page>`; values are lease ends."""

    def __init__(self, client: redis.Redis, limit: int, replica: str) -> None:
        self.redis, self.limit, self.replica = client, limit, replica
        self._script = client.register_script(HOLD)
        self._open: set[tuple[str, str]] = set()  # (key, page) this replica holds open: renewed by the heartbeat
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._renew_forever, name='voice-ui-session-leases', daemon=True).start()

    def _hold(self, key: str, page: str, seconds: float, limit: int, mode: str = 'hold') -> int:
        return int(self._script(keys=[f'{PREFIX}open:{key}'], args=[f'{self.replica}/{page}', seconds, limit, mode]))

    def count(self, key: str) -> int:
        return self._hold(key, '', 0, 0, 'count')

    def holds(self, key: str, page: str) -> bool:
        return bool(self._hold(key, page, 0, 0, 'holds'))

    def try_reserve(self, key: str, page: str, hold_s: float = RESERVATION_S) -> bool:
        if (key, page) in self._open:
            return True  # an open session stays open (its lease is renewed while it is)
        return bool(self._hold(key, page, hold_s, self.limit, 'reserve'))  # a reservation is only lengthened

    def status(self, key: str, page: str, status: str) -> None:
        if status in OPEN_STATUSES:
            with self._lock:
                self._open.add((key, page))
            self._hold(key, page, LEASE_S, 0)
        else:
            self.release(key, page)

    def release(self, key: str, page: str) -> None:
        with self._lock:
            self._open.discard((key, page))
        self.redis.hdel(f'{PREFIX}open:{key}', f'{self.replica}/{page}')

    def _renew_forever(self) -> None:
        while not self._stop.wait(RENEW_S):
            with self._lock:
                held = list(self._open)
            for key, page in held:
                try:
                    self._hold(key, page, LEASE_S, 0)
                except redis.RedisError:
                    break  # Redis away: try again next round (leases outlast a few missed renewals)

    def close(self) -> None:
        self._stop.set()


@dataclass
class RedisHealth:
    client: redis.Redis

    def __call__(self) -> str | None:
        try:
            self.client.ping()
        except redis.RedisError as error:
            return f'redis: {type(error).__name__}'
        return None


def open_client(url: str) -> redis.Redis:
    try:
        return redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S,
                                    health_check_interval=30)
    except ValueError as error:
        raise SystemExit(f'NICEGUI_REDIS_URL: {error}') from None


def revoke_name(client: redis.Redis, name: str) -> int:
    """End every sign-in of `name` (a users-file name that was removed) and tell every replica; returns how many."""
    index = f'{PREFIX}signins_of:{digest(name)}'
    hashed = [h.decode() for h in client.smembers(index)]
    pipe = client.pipeline()
    for h in hashed:
        pipe.delete(f'{PREFIX}signin:{h}').publish(REVOKED_CHANNEL, h)
    pipe.delete(index).execute()
    return len(hashed)


def open_redis_stores(settings: Settings, secret: bytes) -> Stores:
    client = open_client(settings.redis_url)
    replica = settings.replica or socket.gethostname()
    return Stores(RedisSignIns(client, settings.session_hours * 3600, secret),
                  RedisWindow(client, 'mints', settings.mints_per_minute, 60.0),
                  RedisOpenSessions(client, settings.max_sessions, f'{replica}-{secrets.token_hex(4)}'),
                  RedisWindow(client, 'failed_logins', LOGIN_ATTEMPTS, LOGIN_WINDOW_S),
                  ready=RedisHealth(client), kind='redis', errors=(redis.RedisError,),
                  transcripts=RedisTranscripts(client))
