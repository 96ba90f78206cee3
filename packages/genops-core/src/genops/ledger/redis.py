"""The Redis ledger: many hosts share budgets; every operation is one Lua script.

    ledger = RedisLedger("redis://cache:6379/0", prefix="genops:")

Keys per budget key ``K`` (under ``prefix``): ``c:K:<bucket>`` consumption
counters (integers, expiring with their window: ``PEXPIRE`` from ``keep_for``),
``r:K`` a sorted set of reservation ids scored by expiry, ``ra:K`` a hash id →
amount and ``rs:K`` the live reserved total (these three expire after twice the
reservation TTL without a new reservation, so high-cardinality keys do not pile
up). Check-and-reserve, settle and release are each one server-side script, so
concurrent workers on any number of hosts never overspend by more than the
reservations in flight. Scripts are
loaded with ``EVALSHA`` (re-sent on ``NOSCRIPT``); the client reconnects by
itself after the server comes back. Keys of one unit must live on one node (no
cluster hash-slot routing).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from genops.ledger.base import (
    Claim,
    Denied,
    LedgerUnavailable,
    Position,
    Reservation,
    Settled,
    bounded,
)
from genops.scrub import safe_url, scrub_secrets

# Shared Lua: drop expired reservations of a key, return (consumed, reserved).
_POSITION = """
local function fmt(x) return string.format('%.0f', x) end
local function expire(rkey, akey, skey, now)
  local dead = redis.call('ZRANGEBYSCORE', rkey, '-inf', now)
  for _, id in ipairs(dead) do
    local amt = redis.call('HGET', akey, id)
    if amt then redis.call('DECRBY', skey, amt) end
    redis.call('HDEL', akey, id)
    redis.call('ZREM', rkey, id)
  end
end
local function position(base, nb, rkey, akey, skey, now)
  expire(rkey, akey, skey, now)
  local consumed = 0
  for j = 1, nb do consumed = consumed + tonumber(redis.call('GET', KEYS[base + j]) or '0') end
  local reserved = tonumber(redis.call('GET', skey) or '0')
  return consumed, reserved
end
"""

# KEYS per claim: r, ra, rs, current bucket, then nb summed buckets.
# ARGV: now, ttl, id, n, then per claim: limit, amount, nb, keep_ms, enforce, commit.
_RESERVE = (
    _POSITION
    + """
local now, ttl, id, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local k, a = 0, 4
local cs, out, failed = {}, {}, {}
for i = 1, n do
  local c = {limit=tonumber(ARGV[a+1]), amount=tonumber(ARGV[a+2]), raw=ARGV[a+2],
             nb=tonumber(ARGV[a+3]),
             keep=tonumber(ARGV[a+4]), enforce=ARGV[a+5] == '1', commit=ARGV[a+6] == '1',
             r=KEYS[k+1], ra=KEYS[k+2], rs=KEYS[k+3], cur=KEYS[k+4]}
  c.consumed, c.reserved = position(k + 4, c.nb, c.r, c.ra, c.rs, now)
  local committed = c.consumed + c.reserved
  if c.enforce and (committed + c.amount > c.limit or committed >= c.limit) then
    table.insert(failed, i)
  end
  cs[i] = c
  k, a = k + 4 + c.nb, a + 6
end
if #failed > 0 then
  local res = {0}
  for i = 1, n do table.insert(res, fmt(cs[i].consumed)); table.insert(res, fmt(cs[i].reserved)) end
  table.insert(res, table.concat(failed, ','))
  return res
end
local res = {1}
for i = 1, n do
  local c = cs[i]
  if c.commit then
    redis.call('INCRBY', c.cur, c.raw)
    if c.keep >= 0 then redis.call('PEXPIRE', c.cur, c.keep) end
    c.consumed = c.consumed + c.amount
  else
    redis.call('ZADD', c.r, now + ttl, id)
    redis.call('HSET', c.ra, id, c.raw)
    redis.call('INCRBY', c.rs, c.raw)
    -- idle reservation keys go away (every reservation in them has expired by then)
    local idle = math.floor(ttl * 2000) + 1000
    redis.call('PEXPIRE', c.r, idle); redis.call('PEXPIRE', c.ra, idle)
    redis.call('PEXPIRE', c.rs, idle)
    c.reserved = c.reserved + c.amount
  end
  table.insert(res, fmt(c.consumed)); table.insert(res, fmt(c.reserved))
end
return res
"""
)

# KEYS as for reserve. ARGV: now, id, n, then per claim: actual, nb, keep_ms, commit.
_SETTLE = (
    _POSITION
    + """
local now, id, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local k, a, found = 0, 3, 0
local res = {}
for i = 1, n do
  local actual, nb = ARGV[a+1], tonumber(ARGV[a+2])
  local keep, commit = tonumber(ARGV[a+3]), ARGV[a+4] == '1'
  local r, ra, rs, cur = KEYS[k+1], KEYS[k+2], KEYS[k+3], KEYS[k+4]
  if not commit then
    expire(r, ra, rs, now)
    local amt = redis.call('HGET', ra, id)
    if amt then
      found = 1
      redis.call('DECRBY', rs, amt)
      redis.call('HDEL', ra, id)
      redis.call('ZREM', r, id)
    end
    redis.call('INCRBY', cur, actual)
    if keep >= 0 then redis.call('PEXPIRE', cur, keep) end
  end
  local consumed, reserved = position(k + 4, nb, r, ra, rs, now)
  table.insert(res, fmt(consumed)); table.insert(res, fmt(reserved))
  k, a = k + 4 + nb, a + 4
end
table.insert(res, found)
return res
"""
)

# KEYS: r, ra, rs per claim. ARGV: id.
_RELEASE = """
for i = 1, #KEYS, 3 do
  local amt = redis.call('HGET', KEYS[i+1], ARGV[1])
  if amt then
    redis.call('DECRBY', KEYS[i+2], amt)
    redis.call('HDEL', KEYS[i+1], ARGV[1])
    redis.call('ZREM', KEYS[i], ARGV[1])
  end
end
return 1
"""

# KEYS: r, ra, rs, (unused current), buckets... ARGV: now, nb.
_USAGE = (
    _POSITION
    + """
local now = tonumber(ARGV[1])
local consumed, reserved = position(4, tonumber(ARGV[2]), KEYS[1], KEYS[2], KEYS[3], now)
return {fmt(consumed), fmt(reserved)}
"""
)


class RedisLedger:
    """A :class:`~genops.ledger.base.Ledger` on a Redis server (atomic Lua scripts)."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "genops:",
        socket_timeout: float = 2.0,
        client: Any = None,
    ) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - exercised only without the extra
            raise ImportError("the Redis ledger needs `pip install genops-core[redis]`") from exc
        self.url = safe_url(url)  # recorded in messages: never the password
        self.prefix = prefix
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._client = client or redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            health_check_interval=30,
        )
        self._reserve = self._client.register_script(_RESERVE)
        self._settle = self._client.register_script(_SETTLE)
        self._release = self._client.register_script(_RELEASE)
        self._usage = self._client.register_script(_USAGE)

    def _keys(self, key: str, bucket: str, buckets: Sequence[str]) -> list[str]:
        p = self.prefix
        return [
            f"{p}r:{key}",
            f"{p}ra:{key}",
            f"{p}rs:{key}",
            f"{p}c:{key}:{bucket}",
            *(f"{p}c:{key}:{b}" for b in buckets),
        ]

    @staticmethod
    def _keep_ms(claim: Claim) -> int:
        return -1 if claim.keep_for is None else max(int(claim.keep_for * 1000), 1)

    def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except self._errors as exc:
            raise LedgerUnavailable(f"Redis ledger {self.url}: {scrub_secrets(str(exc))}") from exc

    def reserve(self, claims: Sequence[Claim], *, ttl: float, now: float) -> Reservation | Denied:
        rid = uuid.uuid4().hex
        keys: list[str] = []
        args: list[Any] = [repr(now), repr(ttl), rid, len(claims)]
        for c in claims:
            keys += self._keys(c.key, c.bucket, c.buckets)
            args += [
                str(c.limit),
                str(c.amount),
                len(c.buckets),
                self._keep_ms(c),
                int(c.enforce),
                int(c.commit),
            ]
        res = self._call(self._reserve, keys, args)
        positions = tuple(
            Position(int(res[1 + 2 * i]), int(res[2 + 2 * i]), c.limit)
            for i, c in enumerate(claims)
        )
        if int(res[0]) == 0:
            failed = tuple(int(x) - 1 for x in _text(res[-1]).split(","))
            return Denied(failed, positions)
        over = tuple(p.committed > c.limit for p, c in zip(positions, claims, strict=True))
        return Reservation(rid, tuple(claims), now + ttl, positions, over)

    def settle(self, reservation: Reservation, actuals: Sequence[int], *, now: float) -> Settled:
        keys: list[str] = []
        args: list[Any] = [repr(now), reservation.id, len(reservation.claims)]
        for c, actual in zip(reservation.claims, actuals, strict=True):
            keys += self._keys(c.key, c.bucket, c.buckets)
            args += [str(bounded(actual)), len(c.buckets), self._keep_ms(c), int(c.commit)]
        res = self._call(self._settle, keys, args)
        positions = tuple(
            Position(int(res[2 * i]), int(res[1 + 2 * i]), c.limit)
            for i, c in enumerate(reservation.claims)
        )
        return Settled(positions, bool(int(res[-1])))

    def release(self, reservation: Reservation, *, now: float) -> None:
        keys: list[str] = []
        for c in reservation.claims:
            if not c.commit:
                keys += self._keys(c.key, c.bucket, ())[:3]
        if keys:
            self._call(self._release, keys, [reservation.id])

    def usage(self, key: str, buckets: Sequence[str], limit: int, *, now: float) -> Position:
        keys = self._keys(key, buckets[0] if buckets else "total", buckets)
        res = self._call(self._usage, keys, [repr(now), len(buckets)])
        return Position(int(res[0]), int(res[1]), limit)

    def mark_once(self, marker: str, *, keep_for: float | None, now: float) -> bool:
        px = None if keep_for is None else max(int(keep_for * 1000), 1)
        try:
            return bool(self._client.set(f"{self.prefix}m:{marker}", "1", nx=True, px=px))
        except self._errors as exc:
            raise LedgerUnavailable(f"Redis ledger {self.url}: {exc}") from exc

    def keys(self, prefix: str = "") -> list[str]:
        p = self.prefix
        found: set[str] = set()
        try:
            for kind in ("c", "r"):
                for raw in self._client.scan_iter(match=f"{p}{kind}:{prefix}*", count=500):
                    name = _text(raw)[len(p) + 2 :]
                    found.add(name.rsplit(":", 1)[0] if kind == "c" else name)
        except self._errors as exc:
            raise LedgerUnavailable(f"redis ledger: {type(exc).__name__}") from None
        return sorted(found)

    def close(self) -> None:
        try:
            self._client.close()
        except self._errors:
            pass


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
