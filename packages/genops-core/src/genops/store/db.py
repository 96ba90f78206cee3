"""Opening the local spend store: one SQLite file, WAL journal, safe for many processes.

Every write is one transaction (a crash loses at most the batch being written, never
the file), ``busy_timeout`` lets several processes of one host write the same file, and
the schema is created on first use.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from genops.destinations import default_path
from genops.store.schema import DDL, INSERT, SCHEMA_VERSION


class LocalStore:
    """The SQLite file behind the local spend store.

    ::

        store = LocalStore("spend.db")
        rows = store.execute("SELECT team, SUM(cost) FROM units GROUP BY team")
        store.close()
    """

    def __init__(self, path: str | Path | None = None, *, readonly: bool = False) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"no local store at {self.path}")
            uri = f"file:{self.path}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            self.path, check_same_thread=False, timeout=10, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in DDL:
                    self._conn.execute(statement)
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def write(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert unit rows in one transaction (a unit already stored is kept once)."""
        batch = list(rows)
        if not batch:
            return 0
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(INSERT, batch)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return len(batch)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read query and return all rows."""
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        with self._lock:
            self._conn.close()
