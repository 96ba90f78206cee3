"""The shared logic of the SQL ledgers (SQLite, PostgreSQL): one transaction per
operation, in which the caller's dialect guarantees mutual exclusion on the keys
(SQLite: ``BEGIN IMMEDIATE`` takes the database write lock; PostgreSQL:
transaction-scoped advisory locks on the budget keys, taken in sorted order)."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from genops.ledger.base import Claim, Denied, Position, Reservation, Settled, decide

#: Drop expired consumption buckets at most this often (seconds of the caller's clock).
PURGE_EVERY = 300.0


class Tx(Protocol):
    """What a dialect's transaction offers: run one statement, get its rows/rowcount."""

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def count(self, sql: str, params: Sequence[Any] = ()) -> int: ...


class SQLLedgerBase(ABC):
    """Implements the :class:`~genops.ledger.base.Ledger` methods on top of
    :meth:`transaction` (dialect) and the table names ``self.consumption`` and
    ``self.reservations``. Statements use ``?`` placeholders; dialects translate."""

    consumption = "genops_consumption"
    reservations = "genops_reservations"
    markers = "genops_markers"
    _last_purge = 0.0

    @abstractmethod
    def transaction(self, keys: Sequence[str]) -> AbstractContextManager[Tx]: ...

    def _position(self, tx: Tx, key: str, buckets: Sequence[str], limit: int) -> Position:
        marks = ",".join("?" * len(buckets))
        consumed = tx.run(
            f"SELECT COALESCE(SUM(amount), 0) FROM {self.consumption} "
            f"WHERE key = ? AND bucket IN ({marks})",
            (key, *buckets),
        )[0][0]
        reserved = tx.run(
            f"SELECT COALESCE(SUM(amount), 0) FROM {self.reservations} WHERE key = ?", (key,)
        )[0][0]
        return Position(int(consumed), int(reserved), limit)

    def _add(self, tx: Tx, claim: Claim, amount: int, now: float) -> None:
        expires = None if claim.keep_for is None else now + claim.keep_for
        tx.run(
            f"INSERT INTO {self.consumption} (key, bucket, amount, expires_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (key, bucket) DO UPDATE SET "
            f"amount = {self.consumption}.amount + excluded.amount, "
            "expires_at = excluded.expires_at",
            (claim.key, claim.bucket, amount, expires),
        )

    def _expire(self, tx: Tx, keys: Sequence[str], now: float) -> None:
        marks = ",".join("?" * len(keys))
        tx.run(
            f"DELETE FROM {self.reservations} WHERE key IN ({marks}) AND expires_at <= ?",
            (*keys, now),
        )
        if now - self._last_purge > PURGE_EVERY:
            self._last_purge = now
            tx.run(f"DELETE FROM {self.consumption} WHERE expires_at <= ?", (now,))

    def reserve(self, claims: Sequence[Claim], *, ttl: float, now: float) -> Reservation | Denied:
        keys = [c.key for c in claims]
        with self.transaction(keys) as tx:
            self._expire(tx, keys, now)
            before = [self._position(tx, c.key, c.buckets, c.limit) for c in claims]
            failed = decide(before, claims)
            if failed:
                return Denied(failed, tuple(before))
            rid = uuid.uuid4().hex
            expires = now + ttl
            after: list[Position] = []
            for claim, pos in zip(claims, before, strict=True):
                if claim.commit:
                    self._add(tx, claim, claim.amount, now)
                    after.append(Position(pos.consumed + claim.amount, pos.reserved, claim.limit))
                else:
                    tx.run(
                        f"INSERT INTO {self.reservations} (id, key, amount, expires_at) "
                        "VALUES (?, ?, ?, ?)",
                        (rid, claim.key, claim.amount, expires),
                    )
                    after.append(Position(pos.consumed, pos.reserved + claim.amount, claim.limit))
        over = tuple(p.committed > c.limit for p, c in zip(after, claims, strict=True))
        return Reservation(rid, tuple(claims), expires, tuple(after), over)

    def settle(self, reservation: Reservation, actuals: Sequence[int], *, now: float) -> Settled:
        found = False
        positions: list[Position] = []
        keys = [c.key for c in reservation.claims]
        with self.transaction(keys) as tx:
            self._expire(tx, keys, now)
            for claim, actual in zip(reservation.claims, actuals, strict=True):
                if not claim.commit:
                    deleted = tx.count(
                        f"DELETE FROM {self.reservations} WHERE key = ? AND id = ?",
                        (claim.key, reservation.id),
                    )
                    found = found or deleted > 0
                    self._add(tx, claim, actual, now)
                positions.append(self._position(tx, claim.key, claim.buckets, claim.limit))
        return Settled(tuple(positions), found)

    def release(self, reservation: Reservation, *, now: float) -> None:
        keys = [c.key for c in reservation.claims if not c.commit]
        if not keys:
            return
        with self.transaction(keys) as tx:
            for key in keys:
                tx.run(
                    f"DELETE FROM {self.reservations} WHERE key = ? AND id = ?",
                    (key, reservation.id),
                )

    def mark_once(self, marker: str, *, keep_for: float | None, now: float) -> bool:
        expires = None if keep_for is None else now + keep_for
        with self.transaction([marker]) as tx:
            tx.run(
                f"DELETE FROM {self.markers} WHERE marker = ? AND expires_at <= ?", (marker, now)
            )
            return (
                tx.count(
                    f"INSERT INTO {self.markers} (marker, expires_at) VALUES (?, ?) "
                    "ON CONFLICT (marker) DO NOTHING",
                    (marker, expires),
                )
                == 1
            )

    def usage(self, key: str, buckets: Sequence[str], limit: int, *, now: float) -> Position:
        with self.transaction([key]) as tx:
            self._expire(tx, [key], now)
            return self._position(tx, key, buckets, limit)

    def keys(self, prefix: str = "") -> list[str]:
        n = len(prefix)
        with self.transaction([]) as tx:
            rows = tx.run(
                f"SELECT key FROM {self.consumption} WHERE substr(key, 1, ?) = ? UNION "
                f"SELECT key FROM {self.reservations} WHERE substr(key, 1, ?) = ?",
                (n, prefix, n, prefix),
            )
        return sorted({str(r[0]) for r in rows})


def sorted_unique(keys: Sequence[str]) -> Iterator[str]:
    """Keys in one global order (advisory locks taken in order cannot deadlock)."""
    yield from sorted(set(keys))
