"""Finding 1: ledger URLs and DSNs with credentials never reach spans, events, the
audit trail (JSON lines and SQLite) or the ``genops`` log — from the first call and
from the circuit breaker's later ones."""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import genops
from genops import attributes as A
from genops.policy import Engine, ManualClock
from genops.policy.loader import build_engine
from genops.scrub import exception_message, safe_url, scrub_secrets
from tests.conftest import Telemetry

PASSWORD = "Zq8-canary-s3cret"
PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def urls() -> dict[str, str]:
    port = free_port()
    return {
        "redis": f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
        "redis-user": f"redis://app:{PASSWORD}@127.0.0.1:{port}/0?prefix=t16:",
        "postgres": f"postgresql://app:{PASSWORD}@127.0.0.1:{port}/test",
        "postgres-query": f"postgresql://app@127.0.0.1:{port}/test?password={PASSWORD}",
    }


def everything_recorded(telemetry: Telemetry, audit_dir: Path, log_text: str) -> str:
    parts = [log_text]
    for span in telemetry.spans():
        parts.append(repr(dict(span.attributes or {})))
        parts.append(repr(span.status.description))
        parts += [repr(dict(e.attributes or {})) for e in span.events]
    parts += [p.read_text() for p in audit_dir.glob("*.jsonl")]
    for db in audit_dir.glob("*.db"):
        with sqlite3.connect(db) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                parts.append(repr(conn.execute(f"SELECT * FROM {table}").fetchall()))
    return "\n".join(parts)


@pytest.mark.parametrize("kind", ["redis", "redis-user", "postgres", "postgres-query"])
@pytest.mark.parametrize("sink", ["jsonl", "db"])
def test_a_ledger_password_is_never_recorded(
    kind: str,
    sink: str,
    tmp_path: Path,
    make_genops: Callable[..., genops.GenOps],
    telemetry: Telemetry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc: dict[str, Any] = {
        "version": 1,
        "audit": {"sink": str(tmp_path / f"audit.{sink}")},
        "policies": [
            {"name": "spend", "type": "budget", "limit": 10, "window": "daily",
             "on_ledger_error": "fail_open"},
            {"name": "strict", "type": "budget", "limit": 10, "window": "daily",
             "on_ledger_error": "fail_closed", "per": "team"},
        ],
    }  # fmt: skip
    caplog.set_level(logging.DEBUG, logger="genops")
    make_genops(policy=build_engine(doc, ledger=urls()[kind], clock=ManualClock()), prices=PRICES)
    request = genops.RequestEstimate(input_tokens=10, max_output_tokens=10)
    for _ in range(3):  # first call (backend error), then the open breaker's message
        with pytest.raises(genops.PolicyViolationError) as err:
            with genops.governed(
                "reply",
                provider="openai",
                model="acme-1",
                request=request,
                attribution=genops.Attribution(team="a"),
            ):
                pass
        assert PASSWORD not in str(err.value)
        assert "***" in str(err.value.decision.reason) or "unavailable" in str(
            err.value.decision.reason
        )
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine) and engine.audit is not None
    engine.audit.flush()
    reasons = [dict(s.attributes or {}).get(A.POLICY_REASON) for s in telemetry.spans()]
    assert any("unavailable" in str(r) for r in reasons)
    recorded = everything_recorded(telemetry, tmp_path, caplog.text)
    assert "ledger unavailable" in recorded
    assert PASSWORD not in recorded


def test_scrub_rules() -> None:
    assert safe_url(f"rediss://u:{PASSWORD}@h:1/0") == "rediss://u:***@h:1/0"
    assert PASSWORD not in scrub_secrets(f"dbname=x password={PASSWORD} host=h")
    assert PASSWORD not in scrub_secrets(f"Authorization: Bearer {PASSWORD}xyz")
    assert PASSWORD not in scrub_secrets(f"https://h/x?api_key={PASSWORD}&a=1")
    assert scrub_secrets("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    message = exception_message(RuntimeError("x" * 10_000))
    assert len(message) == 512 and message.endswith("…")
