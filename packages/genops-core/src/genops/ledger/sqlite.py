"""The SQLite ledger: several processes on one host share one file.

    ledger = SQLiteLedger("/var/lib/genops/ledger.db")      # or open_ledger("sqlite:///...")

WAL mode; every reserve/settle is one ``BEGIN IMMEDIATE`` transaction, which
takes the database's single write lock, so check-and-reserve is atomic across
processes. Connections are per thread (and per process: one inherited through
``fork()`` is never reused) and re-opened after an error (a missing
directory or a locked/corrupt file makes the call fail with
:class:`LedgerUnavailable`; the next call tries again).

A file deleted or replaced while in use (``rm ledger.db*``, a restore, a volume
remount) is detected: at most every ``check_every`` seconds of the caller's clock
each connection compares the device and inode at ``path`` with the file it opened;
on a mismatch it reopens ``path``, so every worker (old and new) converges on one
file instead of splitting the budget between an unlinked file and a new one. Each
replacement is logged once (a warning: the consumption the old file held is no
longer counted) and counted (``genops.internal.errors``, place
``ledger.sqlite.file_replaced``); :attr:`SQLiteLedger.reopened` counts them too.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genops import _safety
from genops.ledger._sql import SQLLedgerBase
from genops.ledger.base import (
    Claim,
    Denied,
    LedgerUnavailable,
    Position,
    Reservation,
    Settled,
    unavailable,
)

log = logging.getLogger("genops")

#: Seconds (of the caller's clock) between two checks that the file is still the same.
CHECK_EVERY = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS genops_consumption (
    key TEXT NOT NULL, bucket TEXT NOT NULL, amount INTEGER NOT NULL,
    expires_at REAL, PRIMARY KEY (key, bucket));
CREATE TABLE IF NOT EXISTS genops_reservations (
    id TEXT NOT NULL, key TEXT NOT NULL, amount INTEGER NOT NULL,
    expires_at REAL NOT NULL, PRIMARY KEY (key, id));
CREATE INDEX IF NOT EXISTS genops_reservations_exp ON genops_reservations (expires_at);
CREATE TABLE IF NOT EXISTS genops_markers (marker TEXT PRIMARY KEY, expires_at REAL);
"""


class _SQLiteTx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, tuple(params)).fetchall()

    def count(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.db.execute(sql, tuple(params)).rowcount


def setup_wal(db: sqlite3.Connection, schema: str, *, timeout: float) -> None:
    """WAL mode, ``synchronous=NORMAL`` and ``schema`` on a new connection.

    Switching a new file to WAL answers "database is locked" at once (no busy wait)
    when other processes open it at the same moment, so this retries with backoff
    for up to ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(schema)
            return
        except sqlite3.OperationalError as exc:
            transient = "locked" in str(exc) or "busy" in str(exc)
            if not transient or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


class SQLiteLedger(SQLLedgerBase):
    """A :class:`~genops.ledger.base.Ledger` in a SQLite file (WAL, cross-process safe)."""

    def __init__(
        self, path: str | Path, *, busy_timeout: float = 30.0, check_every: float = CHECK_EVERY
    ) -> None:
        if not check_every >= 0:
            raise ValueError("check_every must be >= 0 seconds")
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self.check_every = float(check_every)
        #: Times a connection found its file deleted or replaced and reopened ``path``.
        self.reopened = 0
        self._timeout = busy_timeout
        self._local = threading.local()
        self._conns: list[tuple[int, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()
        self._warned: set[tuple[int, int] | None] = set()

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            if self._local.pid == os.getpid():
                return db
            self._local.db = None  # inherited through fork(): never reuse (nor close) it
        parent = Path(self.path).parent
        if not parent.is_dir():
            raise LedgerUnavailable(f"ledger directory {parent} does not exist")
        db = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._setup(db)
        except sqlite3.Error:
            db.close()
            raise
        self._local.db = db
        self._local.pid = os.getpid()
        self._local.identity = _identity(self.path)
        self._local.checked_at = None
        with self._conns_lock:
            self._conns.append((os.getpid(), db))
        return db

    def _setup(self, db: sqlite3.Connection) -> None:
        setup_wal(db, _SCHEMA, timeout=self._timeout)

    def _drop(self) -> None:
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with self._conns_lock:
                self._conns = [(p, c) for p, c in self._conns if c is not db]
            try:
                db.close()
            except sqlite3.Error:
                pass

    def _watch(self, now: float) -> None:
        """Reopen when this thread's connection no longer holds the file at ``path``
        (deleted or replaced); checked at most every :attr:`check_every` seconds."""
        local = self._local
        if getattr(local, "db", None) is None or local.pid != os.getpid():
            return
        if local.checked_at is not None and abs(now - local.checked_at) < self.check_every:
            return
        local.checked_at = now
        try:
            current = _identity(self.path)
        except OSError:  # e.g. a permission problem: not evidence of a replacement
            return
        old = local.identity
        if current == old:
            return
        self._drop()
        with self._conns_lock:
            self.reopened += 1
            first = old not in self._warned
            self._warned.add(old)
        if first:
            log.warning(
                "genops SQLite ledger %s was %s while in use: reopening it (the budget "
                "consumption the old file held is no longer counted)",
                self.path,
                "deleted" if current is None else "replaced",
            )
        _safety.count_only("ledger.sqlite.file_replaced")

    def reserve(self, claims: Sequence[Claim], *, ttl: float, now: float) -> Reservation | Denied:
        self._watch(now)
        return super().reserve(claims, ttl=ttl, now=now)

    def settle(self, reservation: Reservation, actuals: Sequence[int], *, now: float) -> Settled:
        self._watch(now)
        return super().settle(reservation, actuals, now=now)

    def release(self, reservation: Reservation, *, now: float) -> None:
        self._watch(now)
        super().release(reservation, now=now)

    def usage(self, key: str, buckets: Sequence[str], limit: int, *, now: float) -> Position:
        self._watch(now)
        return super().usage(key, buckets, limit, now=now)

    def mark_once(self, marker: str, *, keep_for: float | None, now: float) -> bool:
        self._watch(now)
        return super().mark_once(marker, keep_for=keep_for, now=now)

    @contextmanager
    def transaction(self, keys: Sequence[str]) -> Iterator[_SQLiteTx]:
        """One ``BEGIN IMMEDIATE`` transaction (the database write lock)."""
        try:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._drop()
            raise unavailable(f"SQLite ledger {self.path}", exc) from exc
        try:
            yield _SQLiteTx(db)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(db)
            self._drop()
            raise unavailable(f"SQLite ledger {self.path}", exc) from exc
        except BaseException:
            self._rollback(db)
            raise

    @staticmethod
    def _rollback(db: sqlite3.Connection) -> None:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def close(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        pid = os.getpid()
        for owner, db in conns:
            if owner != pid:
                continue  # inherited through fork(): the parent's to close
            try:
                db.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)
