"""The durable audit trail: every policy decision as a record, outside the tracing backend.

    log = AuditLog(open_sink("sqlite:///var/lib/genops/audit.db"), sample_allowed=0.1)
    engine = Engine(policies, audit=log)
    ...
    sink = open_sink("sqlite:///var/lib/genops/audit.db")
    for rec in sink.query(result="BLOCKED", team="support"):
        print(rec["ts"], rec["policy"], rec["reason_code"])

One record per evaluated policy of a unit (a unit no policy applied to gets one
record with ``policy`` null), with attribution, operation, model, the policy's
result/reason code/reason, the unit's winning result, the reserved amount and
unit, the budget position and the unit's ``trace_id``/``span_id``. Records are
written by a background thread (no file I/O on the call path); :meth:`AuditLog.flush`
waits for them. ALLOWED units may be sampled (``sample_allowed`` in [0, 1],
deterministic per trace id); units with any non-ALLOWED decision are always kept.

Sinks: ``jsonl:///path/audit.jsonl`` (one JSON object per line) and
``sqlite:///path/audit.db`` (table ``genops_audit``).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from genops import attributes as A
from genops.ledger.sqlite import setup_wal

log = logging.getLogger("genops.audit")

#: Record fields, in column order.
FIELDS = (
    "ts",
    "trace_id",
    "span_id",
    "operation_name",
    "operation_type",
    "provider",
    "model",
    *A.ATTRIBUTION_FIELDS,
    "policy",
    "result",
    "reason_code",
    "reason",
    "unit_result",
    "reserved",
    "unit",
    "budget_name",
    "budget_remaining",
)


@runtime_checkable
class AuditSink(Protocol):
    """Where audit records go. ``write`` runs on the audit thread only."""

    url: str

    def write(self, records: list[dict[str, Any]]) -> None: ...

    def query(
        self,
        *,
        since: float | None = None,
        result: str | None = None,
        policy: str | None = None,
        team: str | None = None,
        limit: int = 100,
        project: str | None = None,
        customer_id: str | None = None,
    ) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def _match(rec: Mapping[str, Any], since: float | None, filters: dict[str, str | None]) -> bool:
    if since is not None and float(rec.get("ts") or 0) < since:
        return False
    return all(v is None or rec.get(k) == v for k, v in filters.items())


class JsonlSink:
    """Appends one JSON object per line to a file (created with its directory)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"jsonl:///{self.path}"

    def write(self, records: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))

    def _read(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line after a crash
                if isinstance(rec, dict):
                    yield rec

    def query(
        self,
        *,
        since: float | None = None,
        result: str | None = None,
        policy: str | None = None,
        team: str | None = None,
        limit: int = 100,
        project: str | None = None,
        customer_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        filters = {
            "result": result, "policy": policy, "team": team, "project": project,
            "customer_id": customer_id,
        }  # fmt: skip
        found = [r for r in self._read() if _match(r, since, filters)]
        return found[::-1][:limit]

    def close(self) -> None:
        """Nothing held open."""


class SQLiteSink:
    """Records in a SQLite table ``genops_audit`` (WAL; safe for several processes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._db: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        if self._db is not None and self._pid != os.getpid():
            self._db = None  # inherited through fork(): never reuse it
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            cols = ", ".join(
                f"{f} {'REAL' if f in ('ts', 'reserved', 'budget_remaining') else 'TEXT'}"
                for f in FIELDS
            )
            setup_wal(
                db,
                f"CREATE TABLE IF NOT EXISTS genops_audit ({cols});"
                "CREATE INDEX IF NOT EXISTS genops_audit_ts ON genops_audit (ts);",
                timeout=30,
            )
            db.commit()
            self._db = db
            self._pid = os.getpid()
        return self._db

    def write(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            db = self._conn()
            marks = ", ".join("?" * len(FIELDS))
            db.executemany(
                f"INSERT INTO genops_audit ({', '.join(FIELDS)}) VALUES ({marks})",
                [tuple(r.get(f) for f in FIELDS) for r in records],
            )
            db.commit()

    def query(
        self,
        *,
        since: float | None = None,
        result: str | None = None,
        policy: str | None = None,
        team: str | None = None,
        limit: int = 100,
        project: str | None = None,
        customer_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        where, args = ["1=1"], []  # type: list[str], list[Any]
        if since is not None:
            where.append("ts >= ?")
            args.append(since)
        for col, value in (
            ("result", result), ("policy", policy), ("team", team), ("project", project),
            ("customer_id", customer_id),
        ):  # fmt: skip
            if value is not None:
                where.append(f"{col} = ?")
                args.append(value)
        with self._lock:
            if not self.path.exists():
                return []
            rows = (
                self._conn()
                .execute(
                    f"SELECT {', '.join(FIELDS)} FROM genops_audit WHERE {' AND '.join(where)} "
                    "ORDER BY ts DESC, rowid DESC LIMIT ?",
                    (*args, limit),
                )
                .fetchall()
            )
        return [dict(zip(FIELDS, row, strict=True)) for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db = None


def open_sink(spec: str | AuditSink) -> AuditSink:
    """``jsonl:///path``, ``sqlite:///path``, a path ending in ``.jsonl``/``.db``, or a sink."""
    if not isinstance(spec, str):
        if isinstance(spec, AuditSink):
            return spec
        raise TypeError(f"audit sink must be a URL or an AuditSink, got {type(spec).__name__}")
    if spec.startswith("jsonl:///"):
        return JsonlSink(spec[len("jsonl:///") :])
    if spec.startswith("sqlite:///"):
        return SQLiteSink(spec[len("sqlite:///") :])
    if spec.endswith(".jsonl"):
        return JsonlSink(spec)
    if spec.endswith((".db", ".sqlite", ".sqlite3")):
        return SQLiteSink(spec)
    raise ValueError(f"unsupported audit sink {spec!r}: use 'jsonl:///path' or 'sqlite:///path'")


_STOP = object()


class AuditLog:
    """Queues records and writes them from one background thread.

    A failing sink never affects the calls: the error is logged and the batch dropped.
    """

    def __init__(
        self, sink: AuditSink | str, *, sample_allowed: float = 1.0, seed: int | None = None
    ) -> None:
        if (
            isinstance(sample_allowed, bool)
            or not isinstance(sample_allowed, (int, float))
            or not 0 <= sample_allowed <= 1
        ):
            raise ValueError("sample_allowed must be a number between 0 and 1")
        self.sink = open_sink(sink)
        self.sample_allowed = float(sample_allowed)
        self._random = random.Random(seed)
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._start_lock = threading.Lock()
        self.dropped = 0

    def keep(self, trace_id: str | None, all_allowed: bool) -> bool:
        """Whether a unit's records are written (sampling applies to ALLOWED units only)."""
        if not all_allowed or self.sample_allowed >= 1.0:
            return True
        if self.sample_allowed <= 0.0:
            return False
        if trace_id:
            try:
                return (int(trace_id[-8:], 16) / 0xFFFFFFFF) < self.sample_allowed
            except ValueError:
                pass
        return self._random.random() < self.sample_allowed

    def record(self, records: Iterable[dict[str, Any]]) -> None:
        """Queue records (non-blocking)."""
        batch = list(records)
        if not batch:
            return
        if self._thread is None or self._pid != os.getpid():
            with self._start_lock:
                if self._pid != os.getpid():  # forked: the writer thread stayed in the parent
                    self._pid = os.getpid()
                    self._queue = queue.Queue()
                    self._thread = None
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="genops-audit", daemon=True
                    )
                    self._thread.start()
        self._queue.put(batch)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                batch = list(cast(list[dict[str, Any]], item))
                while True:  # coalesce what is already queued
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        self._queue.put(_STOP)
                        self._queue.task_done()
                        break
                    batch.extend(cast(list[dict[str, Any]], more))
                    self._queue.task_done()
                try:
                    self.sink.write(batch)
                except Exception as exc:  # the audit trail must not break the app
                    self.dropped += len(batch)
                    log.error(
                        "genops audit sink %s failed; %d records dropped: %s",
                        self.sink.url,
                        len(batch),
                        exc,
                    )
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Block until every queued record has been written."""
        if self._thread is not None and self._pid == os.getpid():
            self._queue.join()

    def close(self) -> None:
        """Flush, stop the thread and close the sink."""
        if self._thread is not None and self._pid == os.getpid():
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None
        self.sink.close()
