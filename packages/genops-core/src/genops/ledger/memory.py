"""The in-process ledger: a dict under a lock (tests and single-process apps).

ledger = MemoryLedger()
outcome = ledger.reserve([claim], ttl=300, now=time.time())
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from genops.ledger.base import Claim, Denied, Position, Reservation, Settled, decide


@dataclass(slots=True)
class _Key:
    buckets: dict[str, int] = field(default_factory=dict)
    #: bucket → time after which it may be dropped (None: forever)
    bucket_expiry: dict[str, float | None] = field(default_factory=dict)
    #: reservation id → (amount, expires_at)
    held: dict[str, tuple[int, float]] = field(default_factory=dict)


class MemoryLedger:
    """A :class:`~genops.ledger.base.Ledger` held in this process's memory."""

    url = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] = {}
        self._markers: dict[str, float | None] = {}
        # reservation ids: unique in this process (a random prefix, then a counter)
        self._id_prefix = os.urandom(6).hex()
        self._ids = itertools.count(1)

    def _entry(self, key: str, now: float) -> _Key:
        entry = self._keys.get(key)
        if entry is None:
            entry = self._keys[key] = _Key()
            return entry
        if entry.held:
            for rid in [r for r, (_, exp) in entry.held.items() if exp <= now]:
                del entry.held[rid]
        return entry

    def _position(self, entry: _Key, buckets: Sequence[str], limit: int) -> Position:
        get = entry.buckets.get
        consumed = sum([get(b, 0) for b in buckets]) if len(buckets) > 1 else get(buckets[0], 0)
        reserved = sum([amount for amount, _ in entry.held.values()]) if entry.held else 0
        return Position(consumed, reserved, limit)

    def reserve(self, claims: Sequence[Claim], *, ttl: float, now: float) -> Reservation | Denied:
        with self._lock:
            entries = [self._entry(c.key, now) for c in claims]
            before = [
                self._position(e, c.buckets, c.limit) for e, c in zip(entries, claims, strict=True)
            ]
            failed = decide(before, claims)
            if failed:
                return Denied(failed, tuple(before))
            rid = f"{self._id_prefix}{next(self._ids):x}"
            expires = now + ttl
            after: list[Position] = []
            for entry, claim, pos in zip(entries, claims, before, strict=True):
                if claim.commit:
                    self._add(entry, claim, claim.amount, now)
                    after.append(Position(pos.consumed + claim.amount, pos.reserved, claim.limit))
                else:
                    entry.held[rid] = (claim.amount, expires)
                    after.append(Position(pos.consumed, pos.reserved + claim.amount, claim.limit))
            over = tuple(p.committed > c.limit for p, c in zip(after, claims, strict=True))
            return Reservation(rid, tuple(claims), expires, tuple(after), over)

    @staticmethod
    def _add(entry: _Key, claim: Claim, amount: int, now: float) -> None:
        entry.buckets[claim.bucket] = entry.buckets.get(claim.bucket, 0) + amount
        entry.bucket_expiry[claim.bucket] = None if claim.keep_for is None else now + claim.keep_for
        stale = [b for b, exp in entry.bucket_expiry.items() if exp is not None and exp <= now]
        for b in stale:
            entry.buckets.pop(b, None)
            del entry.bucket_expiry[b]

    def settle(self, reservation: Reservation, actuals: Sequence[int], *, now: float) -> Settled:
        with self._lock:
            found = False
            positions: list[Position] = []
            for claim, actual in zip(reservation.claims, actuals, strict=True):
                entry = self._entry(claim.key, now)
                if not claim.commit:
                    found = entry.held.pop(reservation.id, None) is not None or found
                    self._add(entry, claim, actual, now)
                positions.append(self._position(entry, claim.buckets, claim.limit))
            return Settled(tuple(positions), found)

    def release(self, reservation: Reservation, *, now: float) -> None:
        with self._lock:
            for claim in reservation.claims:
                entry = self._keys.get(claim.key)
                if entry is not None:
                    entry.held.pop(reservation.id, None)

    def usage(self, key: str, buckets: Sequence[str], limit: int, *, now: float) -> Position:
        with self._lock:
            return self._position(self._entry(key, now), buckets, limit)

    def mark_once(self, marker: str, *, keep_for: float | None, now: float) -> bool:
        with self._lock:
            if marker in self._markers:
                expires = self._markers[marker]
                if expires is None or expires > now:
                    return False
            self._markers[marker] = None if keep_for is None else now + keep_for
            return True

    def keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            return sorted(
                k for k, e in self._keys.items() if k.startswith(prefix) and (e.buckets or e.held)
            )

    def close(self) -> None:
        """Nothing to release."""
