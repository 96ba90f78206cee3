"""The PostgreSQL ledger: budgets in the database the application already runs.

    ledger = open_ledger("postgresql://genops@db:5432/app?table_prefix=genops_")

Every operation is one transaction that first takes transaction-scoped advisory
locks on its budget keys (``pg_advisory_xact_lock``, in sorted order, so two
units never deadlock), so check-and-reserve is atomic across any number of
hosts while units on unrelated keys do not wait for each other. Tables are
created on first use (``<prefix>consumption``, ``<prefix>reservations``).
Connections are per thread and re-opened after an error. Needs
``pip install genops-core[postgres]``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from genops.ledger._sql import SQLLedgerBase, sorted_unique
from genops.ledger.base import unavailable
from genops.scrub import safe_url

_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,40}")


class _PgTx:
    def __init__(self, cur: Any) -> None:
        self.cur = cur

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cur.execute(sql.replace("?", "%s"), tuple(params))
        rows: list[tuple[Any, ...]] = self.cur.fetchall() if self.cur.description else []
        return rows

    def count(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.cur.execute(sql.replace("?", "%s"), tuple(params))
        return int(self.cur.rowcount)


class PostgresLedger(SQLLedgerBase):
    """A :class:`~genops.ledger.base.Ledger` in PostgreSQL (advisory-locked transactions)."""

    def __init__(
        self, url: str, *, table_prefix: str = "genops_", connect_timeout: int = 5
    ) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - exercised only without the extra
            raise ImportError(
                "the Postgres ledger needs `pip install genops-core[postgres]`"
            ) from exc
        if not _PREFIX.fullmatch(table_prefix):
            raise ValueError(
                "table_prefix must be a lowercase SQL identifier prefix like 'genops_'"
            )
        self._psycopg = psycopg
        self._dsn = url
        self.url = safe_url(url)  # recorded in messages: never the password
        self.consumption = f"{table_prefix}consumption"
        self.reservations = f"{table_prefix}reservations"
        self.markers = f"{table_prefix}markers"
        self._timeout = connect_timeout
        self._local = threading.local()
        self._conns: list[tuple[int, Any]] = []
        self._conns_lock = threading.Lock()

    def _connect(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and self._local.pid == os.getpid():
            return conn
        conn = self._psycopg.connect(self._dsn, connect_timeout=self._timeout, autocommit=True)
        with conn.cursor() as cur:
            # serialised: concurrent CREATE TABLE IF NOT EXISTS can race in PostgreSQL
            cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (self.consumption,))
            try:
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.consumption} (key TEXT NOT NULL, "
                    "bucket TEXT NOT NULL, amount BIGINT NOT NULL, expires_at DOUBLE PRECISION, "
                    "PRIMARY KEY (key, bucket))"
                )
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.reservations} (id TEXT NOT NULL, "
                    "key TEXT NOT NULL, amount BIGINT NOT NULL, "
                    "expires_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (key, id))"
                )
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.markers} (marker TEXT PRIMARY KEY, "
                    "expires_at DOUBLE PRECISION)"
                )
            finally:
                cur.execute(
                    "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (self.consumption,)
                )
        self._local.conn = conn
        self._local.pid = os.getpid()
        with self._conns_lock:
            self._conns.append((os.getpid(), conn))
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            with self._conns_lock:
                self._conns = [(p, c) for p, c in self._conns if c is not conn]
            try:
                conn.close()
            except self._psycopg.Error:
                pass

    @contextmanager
    def transaction(self, keys: Sequence[str]) -> Iterator[_PgTx]:
        """One transaction holding advisory locks on ``keys``."""
        errors = (self._psycopg.Error, OSError)
        try:
            conn = self._connect()
            tx = conn.transaction()
            tx.__enter__()
        except errors as exc:
            self._drop()
            raise unavailable(f"Postgres ledger {self.url}", exc) from exc
        try:
            with conn.cursor() as cur:
                for key in sorted_unique(keys):
                    cur.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                        (f"{self.reservations}:{key}",),
                    )
                yield _PgTx(cur)
        except errors as exc:
            self._exit(tx, exc)
            self._drop()
            raise unavailable(f"Postgres ledger {self.url}", exc) from exc
        except BaseException as exc:
            self._exit(tx, exc)
            raise
        else:
            try:
                tx.__exit__(None, None, None)
            except errors as exc:
                self._drop()
                raise unavailable(f"Postgres ledger {self.url}", exc) from exc

    def _exit(self, tx: Any, exc: BaseException) -> None:
        try:
            tx.__exit__(type(exc), exc, exc.__traceback__)
        except Exception:  # the rollback itself failed: the connection is dropped anyway
            pass

    def close(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        pid = os.getpid()
        for owner, conn in conns:
            if owner != pid:
                continue  # inherited through fork(): the parent's to close
            try:
                conn.close()
            except self._psycopg.Error:
                pass
        self._local = threading.local()
