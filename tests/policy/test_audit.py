"""The durable audit trail: JSON-lines and SQLite sinks, written from the real lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import genops
from genops.audit import AuditLog, JsonlSink, SQLiteSink, open_sink
from genops.policy import Engine
from tests.conftest import Telemetry

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]


def policy(sink: str, **audit: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "audit": {"sink": sink, **audit},
        "policies": [
            {"name": "approved", "type": "allowed_models", "models": ["acme-small"]},
            {"name": "spend", "type": "budget", "limit": 1, "window": "daily", "per": "team"},
        ],
    }


def call(model: str) -> None:
    with genops.governed(
        "reply", provider="openai", model=model,
        request=genops.RequestEstimate(input_tokens=100, max_output_tokens=100),
    ) as unit:  # fmt: skip
        unit.record_usage(input_tokens=100, output_tokens=100)


def flush() -> None:
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine) and engine.audit is not None
    engine.audit.flush()


@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
def test_every_decision_is_recorded_with_ids_attribution_and_amounts(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry, tmp_path: Path, kind: str
) -> None:
    url = f"{kind}:///{tmp_path / ('audit.' + ('jsonl' if kind == 'jsonl' else 'db'))}"
    make_genops(policy=policy(url), prices=PRICES)
    with genops.attribution(team="support", customer_id="acme", session_id="s-42"):
        call("acme-small")
        with pytest.raises(genops.PolicyViolationError):
            call("acme-large")
    flush()
    sink = open_sink(url)
    records = sink.query(limit=10)  # newest first
    assert [(r["policy"], r["result"], r["reason_code"], r["unit_result"]) for r in records] == [
        ("approved", "BLOCKED", "POLICY_DENY_MODEL", "BLOCKED"),
        ("spend", "ALLOWED", None, "ALLOWED"),
        ("approved", "ALLOWED", None, "ALLOWED"),
    ]
    blocked_span, allowed_span = telemetry.spans()[-1], telemetry.spans()[0]
    blocked = records[0]
    assert blocked["trace_id"] == format(blocked_span.context.trace_id, "032x")
    assert blocked["span_id"] == format(blocked_span.context.span_id, "016x")
    assert records[1]["span_id"] == format(allowed_span.context.span_id, "016x")
    assert blocked["team"] == "support" and blocked["customer_id"] == "acme"
    assert blocked["session_id"] == "s-42"  # every attribution field is an audit column
    assert blocked["project"] == "genops-tests" and blocked["environment"] == "development"
    assert blocked["model"] == "acme-large" and blocked["provider"] == "openai"
    assert blocked["operation_name"] == "reply"
    assert "acme-large" in blocked["reason"]
    allowed = records[1]
    assert allowed["reserved"] == pytest.approx(0.2) and allowed["unit"] == "USD"
    assert allowed["budget_name"] == "spend"
    assert allowed["budget_remaining"] == pytest.approx(0.8)
    assert sink.query(result="BLOCKED", team="support")[0]["policy"] == "approved"
    assert sink.query(team="sales") == []
    assert sink.query(policy="spend")[0]["result"] == "ALLOWED"


def test_allowed_units_can_be_sampled_but_violations_never_are(
    make_genops: Callable[..., genops.GenOps], tmp_path: Path
) -> None:
    url = f"jsonl:///{tmp_path / 'audit.jsonl'}"
    make_genops(policy=policy(url, sample_allowed=0), prices=PRICES)
    for _ in range(3):
        call("acme-small")
    with pytest.raises(genops.PolicyViolationError):
        call("acme-large")
    flush()
    records = open_sink(url).query()
    assert [r["result"] for r in records] == ["BLOCKED"]


def test_sampling_is_deterministic_per_trace() -> None:
    log = AuditLog(JsonlSink("/dev/null"), sample_allowed=0.5)
    keep = [log.keep(f"{i:032x}", True) for i in range(0, 2**32, 2**24)]
    assert keep == [log.keep(f"{i:032x}", True) for i in range(0, 2**32, 2**24)]
    assert 0.3 < sum(keep) / len(keep) < 0.7
    assert log.keep("0" * 32, False) is True


def test_a_broken_sink_never_breaks_calls(
    make_genops: Callable[..., genops.GenOps], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    url = f"jsonl:///{blocker / 'audit.jsonl'}"  # parent is a file: every write fails
    make_genops(policy=policy(url), prices=PRICES)
    call("acme-small")
    flush()
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine) and engine.audit is not None
    assert engine.audit.dropped == 2


def test_sinks_from_paths_and_errors(tmp_path: Path) -> None:
    assert isinstance(open_sink(str(tmp_path / "a.jsonl")), JsonlSink)
    assert isinstance(open_sink(str(tmp_path / "a.db")), SQLiteSink)
    with pytest.raises(ValueError, match="jsonl:///"):
        open_sink("s3://bucket/audit")
    with pytest.raises(ValueError, match="between 0 and 1"):
        AuditLog(JsonlSink(tmp_path / "x.jsonl"), sample_allowed=2)


def test_jsonl_reader_skips_a_torn_last_line(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "a.jsonl")
    sink.write([{"ts": 1.0, "result": "BLOCKED"}])
    with (tmp_path / "a.jsonl").open("a") as fh:
        fh.write('{"ts": 2.0, "res')
    assert sink.query() == [{"ts": 1.0, "result": "BLOCKED"}]


def test_audit_sink_from_the_environment_without_a_policy_file(
    make_genops: Callable[..., genops.GenOps],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite:///{tmp_path / 'env-audit.db'}"
    monkeypatch.setenv("GENOPS_AUDIT_SINK", url)
    make_genops(prices=PRICES)
    genops.register_policy("approved", type="allowed_models", models=["acme-small"])
    with pytest.raises(genops.PolicyViolationError):
        call("acme-large")
    flush()
    (record,) = open_sink(url).query()
    assert (record["policy"], record["result"]) == ("approved", "BLOCKED")
