"""The SQLite ledger: several processes on one host share one file.

    ledger = SQLiteLedger("/var/lib/genops/ledger.db")      # or open_ledger("sqlite:///...")

WAL mode; every reserve/settle is one ``BEGIN IMMEDIATE`` transaction, which
takes the database's single write lock, so check-and-reserve is atomic across
processes. Connections are per thread (and per process: one inherited through
``fork()`` is never reused) and re-opened after an error (a missing
directory or a locked/corrupt file makes the call fail with
:class:`LedgerUnavailable`; the next call tries again).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genops.ledger._sql import SQLLedgerBase
from genops.ledger.base import LedgerUnavailable, unavailable

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

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._timeout = busy_timeout
        self._local = threading.local()
        self._conns: list[tuple[int, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()

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
