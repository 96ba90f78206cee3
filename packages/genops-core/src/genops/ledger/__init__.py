"""Budget ledgers: where consumption and in-flight reservations live.

    from genops.ledger import open_ledger
    ledger = open_ledger("sqlite:///var/lib/genops/ledger.db")

URLs: ``memory`` (one process), ``sqlite:///relative/or//absolute/path.db`` (processes
on one host), ``redis://host:port/db`` or ``rediss://`` (many hosts; the optional
``?prefix=myapp:`` query parameter namespaces the keys), ``postgresql://user@host/db``
(``?table_prefix=genops_`` names the tables).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit, urlunsplit

from genops.ledger.base import (
    NANOS,
    Claim,
    Denied,
    Ledger,
    LedgerUnavailable,
    Position,
    Reservation,
    Settled,
)
from genops.ledger.memory import MemoryLedger


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///path`` URL (``sqlite:////abs`` or ``sqlite:///rel``)."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite:/// URL: {url!r}")
    path = url[len("sqlite:///") :]
    if not path:
        raise ValueError(f"the sqlite URL {url!r} has no file path")
    return path


def open_ledger(spec: str | Ledger | None) -> Ledger:
    """Build a ledger from a URL (see module docs) or return a ready one as is."""
    if spec is None or spec == "memory":
        return MemoryLedger()
    if not isinstance(spec, str):
        if isinstance(spec, Ledger):
            return spec
        raise TypeError(f"ledger must be a URL string or a Ledger, got {type(spec).__name__}")
    if spec.startswith("sqlite:"):
        from genops.ledger.sqlite import SQLiteLedger

        return SQLiteLedger(sqlite_path(spec))
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from genops.ledger.redis import RedisLedger

        parts = urlsplit(spec)
        query = parse_qs(parts.query)
        prefix = query.pop("prefix", ["genops:"])[0]
        rest = "&".join(f"{k}={v}" for k, vs in query.items() for v in vs)
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment))
        return RedisLedger(url, prefix=prefix)
    if spec.startswith(("postgresql://", "postgres://")):
        from genops.ledger.postgres import PostgresLedger

        parts = urlsplit(spec)
        query = parse_qs(parts.query)
        table_prefix = query.pop("table_prefix", ["genops_"])[0]
        rest = "&".join(f"{k}={v}" for k, vs in query.items() for v in vs)
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment))
        return PostgresLedger(url, table_prefix=table_prefix)
    raise ValueError(
        f"unsupported ledger URL {spec!r}: use 'memory', 'sqlite:///path', "
        "'redis://host:port/db' or 'postgresql://user@host/db'"
    )


__all__ = [
    "NANOS",
    "Claim",
    "Denied",
    "Ledger",
    "LedgerUnavailable",
    "MemoryLedger",
    "Position",
    "Reservation",
    "Settled",
    "open_ledger",
    "sqlite_path",
]
