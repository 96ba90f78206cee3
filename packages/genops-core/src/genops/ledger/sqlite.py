"""The SQLite ledger: several processes on one host share one file.

    ledger = SQLiteLedger("/var/lib/genops/ledger.db")      # or open_ledger("sqlite:///...")

WAL mode; every reserve/settle is one ``BEGIN IMMEDIATE`` transaction, which
takes the database's single write lock, so check-and-reserve is atomic across
processes. Connections are per thread and re-opened after an error (a deleted or
locked file makes the call fail with :class:`LedgerUnavailable`, the next call
tries again).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from genops.ledger.base import (
    Claim,
    Denied,
    LedgerUnavailable,
    Position,
    Reservation,
    Settled,
    decide,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS genops_consumption (
    key TEXT NOT NULL, bucket TEXT NOT NULL, amount INTEGER NOT NULL,
    expires_at REAL, PRIMARY KEY (key, bucket));
CREATE TABLE IF NOT EXISTS genops_reservations (
    id TEXT NOT NULL, key TEXT NOT NULL, amount INTEGER NOT NULL,
    expires_at REAL NOT NULL, PRIMARY KEY (key, id));
CREATE INDEX IF NOT EXISTS genops_reservations_exp ON genops_reservations (expires_at);
"""

#: Drop expired consumption buckets at most this often (seconds of the caller's clock).
_PURGE_EVERY = 300.0


class SQLiteLedger:
    """A :class:`~genops.ledger.base.Ledger` in a SQLite file (WAL, cross-process safe)."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._timeout = busy_timeout
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._last_purge = 0.0

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            return db
        parent = Path(self.path).parent
        if not parent.is_dir():
            raise LedgerUnavailable(f"ledger directory {parent} does not exist")
        db = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        self._local.db = db
        with self._conns_lock:
            self._conns.append(db)
        return db

    def _drop(self) -> None:
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with self._conns_lock:
                if db in self._conns:
                    self._conns.remove(db)
            try:
                db.close()
            except sqlite3.Error:
                pass

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")  # the write lock: check-and-reserve is atomic
        except sqlite3.Error as exc:
            self._drop()
            raise LedgerUnavailable(f"SQLite ledger {self.path}: {exc}") from exc
        try:
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(db)
            self._drop()
            raise LedgerUnavailable(f"SQLite ledger {self.path}: {exc}") from exc
        except BaseException:
            self._rollback(db)
            raise

    @staticmethod
    def _rollback(db: sqlite3.Connection) -> None:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    @staticmethod
    def _position(db: sqlite3.Connection, key: str, buckets: Sequence[str], limit: int) -> Position:
        marks = ",".join("?" * len(buckets))
        consumed = db.execute(
            f"SELECT COALESCE(SUM(amount), 0) FROM genops_consumption "
            f"WHERE key = ? AND bucket IN ({marks})",
            (key, *buckets),
        ).fetchone()[0]
        reserved = db.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM genops_reservations WHERE key = ?", (key,)
        ).fetchone()[0]
        return Position(int(consumed), int(reserved), limit)

    @staticmethod
    def _add(db: sqlite3.Connection, claim: Claim, amount: int, now: float) -> None:
        expires = None if claim.keep_for is None else now + claim.keep_for
        db.execute(
            "INSERT INTO genops_consumption (key, bucket, amount, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key, bucket) DO UPDATE SET amount = amount + excluded.amount, "
            "expires_at = excluded.expires_at",
            (claim.key, claim.bucket, amount, expires),
        )

    def _expire(self, db: sqlite3.Connection, keys: Sequence[str], now: float) -> None:
        marks = ",".join("?" * len(keys))
        db.execute(
            f"DELETE FROM genops_reservations WHERE key IN ({marks}) AND expires_at <= ?",
            (*keys, now),
        )
        if now - self._last_purge > _PURGE_EVERY:
            self._last_purge = now
            db.execute("DELETE FROM genops_consumption WHERE expires_at <= ?", (now,))

    def reserve(self, claims: Sequence[Claim], *, ttl: float, now: float) -> Reservation | Denied:
        with self._transaction() as db:
            self._expire(db, [c.key for c in claims], now)
            before = [self._position(db, c.key, c.buckets, c.limit) for c in claims]
            failed = decide(before, claims)
            if failed:
                return Denied(failed, tuple(before))
            rid = uuid.uuid4().hex
            expires = now + ttl
            after: list[Position] = []
            for claim, pos in zip(claims, before, strict=True):
                if claim.commit:
                    self._add(db, claim, claim.amount, now)
                    after.append(Position(pos.consumed + claim.amount, pos.reserved, claim.limit))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO genops_reservations (id, key, amount, expires_at) "
                        "VALUES (?, ?, ?, ?)",
                        (rid, claim.key, claim.amount, expires),
                    )
                    after.append(Position(pos.consumed, pos.reserved + claim.amount, claim.limit))
        over = tuple(p.committed > c.limit for p, c in zip(after, claims, strict=True))
        return Reservation(rid, tuple(claims), expires, tuple(after), over)

    def settle(self, reservation: Reservation, actuals: Sequence[int], *, now: float) -> Settled:
        found = False
        positions: list[Position] = []
        with self._transaction() as db:
            self._expire(db, [c.key for c in reservation.claims], now)
            for claim, actual in zip(reservation.claims, actuals, strict=True):
                if not claim.commit:
                    cur = db.execute(
                        "DELETE FROM genops_reservations WHERE key = ? AND id = ?",
                        (claim.key, reservation.id),
                    )
                    found = found or cur.rowcount > 0
                    self._add(db, claim, actual, now)
                positions.append(self._position(db, claim.key, claim.buckets, claim.limit))
        return Settled(tuple(positions), found)

    def release(self, reservation: Reservation, *, now: float) -> None:
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM genops_reservations WHERE key = ? AND id = ?",
                [(c.key, reservation.id) for c in reservation.claims if not c.commit],
            )

    def usage(self, key: str, buckets: Sequence[str], limit: int, *, now: float) -> Position:
        with self._transaction() as db:
            self._expire(db, [key], now)
            return self._position(db, key, buckets, limit)

    def close(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for db in conns:
            try:
                db.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()
