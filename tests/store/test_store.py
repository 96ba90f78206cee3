"""The local spend store: what it records, and that reports add up to the spans."""

from __future__ import annotations

import math
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

import genops
from genops import attributes as A
from genops.store import LocalStore, Query, decisions, spend, units
from genops.store.schema import COLUMNS

#: every team of the shipped scenarios (native OpenAI / Anthropic / Bedrock, LangChain RAG
#: and agent, LlamaIndex, Haystack), all installed in the dev environment
TEAMS = {"support", "research", "finance", "search", "ops", "legal", "marketing"}


def _cost_bearing(spans):
    return [
        s for s in spans
        if (s.attributes or {}).get(A.SPEC_VERSION) and A.ROLLUP_UNITS not in (s.attributes or {})
        and (s.attributes or {}).get(A.GEN_AI_REQUEST_MODEL)
    ]  # fmt: skip


def test_report_totals_equal_the_exported_spans(demo_run):
    result, telemetry, _ = demo_run
    spans = _cost_bearing(telemetry.spans())
    span_cost = sum(float(s.attributes.get(A.COST_TOTAL, 0.0)) for s in spans)
    store = LocalStore(result.store, readonly=True)
    (total,) = spend(store, Query(result.since, result.until, ()))
    by_team = spend(store, Query(result.since, result.until, ("team",)))
    assert span_cost > 0
    assert math.isclose(total["cost"], span_cost, rel_tol=1e-12)
    assert math.isclose(sum(r["cost"] for r in by_team), span_cost, rel_tol=1e-12)
    tokens = sum(int(s.attributes.get(A.GEN_AI_USAGE_INPUT_TOKENS, 0)) for s in spans)
    assert total["input_tokens"] == tokens
    executed = [
        s for s in spans if s.attributes[A.POLICY_RESULT] not in ("BLOCKED", "RATE_LIMITED")
    ]
    assert total["calls"] == len(executed) == result.provider_requests
    # every team the demo promises, and all four decisions
    assert {r["team"] for r in by_team} >= TEAMS
    found = {
        (d["decision"], d["reason_code"])
        for d in decisions(store, Query(result.since, result.until))
    }
    assert ("BLOCKED", "POLICY_DENY_MODEL") in found
    assert ("BLOCKED", "BUDGET_RESERVATION_FAILED") in found
    assert ("BLOCKED", "POLICY_DENY_CONTENT") in found
    assert ("WARNING", "x_max_tokens_exceeded") in found
    store.close()


def test_demo_tells_the_story(demo_run):
    result, _, out = demo_run
    assert "the provider received 'Write to [REDACTED:email] about a refund'" in out
    assert "gpt-4o blocked by 'approved-models'; requests sent: 0" in out
    assert "runaway agent stopped after" in out and "BUDGET_RESERVATION_FAILED" in out
    assert "blocked before sending: POLICY_DENY_CONTENT by 'no-ssn'" in out
    assert result.budget is not None and result.budget.remaining < result.budget.limit
    assert f"local store {result.store}" in out.replace("\n", "")


def test_rows_carry_the_documented_schema(make_genops, tmp_path: Path):
    path = tmp_path / "s.db"
    make_genops(local_store=path, team="support", project="helpdesk")
    with genops.attribution(customer_id="acme", feature="reply"):
        with genops.governed("reply", provider="openai", model="gpt-4o-mini") as unit:
            unit.record_usage(input_tokens=100, output_tokens=20, cache_read_tokens=40)
        with genops.governed("mystery", provider="acme-ai", model="acme-large") as unit:
            unit.record_usage(input_tokens=7, output_tokens=3)
    genops.shutdown()
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(units)")]
    assert cols[1:] == list(COLUMNS)
    indexes = {r[1] for r in sqlite3.connect(path).execute("PRAGMA index_list(units)")}
    assert {"units_ts", "units_team_ts", "units_project_ts", "units_model_ts"} <= indexes
    store = LocalStore(path, readonly=True)
    rows = {r["model"]: r for r in units(store, Query.last("1h"))}
    known, unknown = rows["gpt-4o-mini"], rows["acme-large"]
    assert (known["team"], known["project"], known["customer_id"], known["feature"]) == (
        "support", "helpdesk", "acme", "reply",
    )  # fmt: skip
    assert (known["input_tokens"], known["output_tokens"], known["cache_read_tokens"]) == (
        100,
        20,
        40,
    )
    assert known["cost"] > 0 and known["cost_unknown"] == 0 and known["decision"] == "ALLOWED"
    assert len(known["trace_id"]) == 32 and len(known["span_id"]) == 16
    assert unknown["cost_unknown"] == 1 and unknown["cost"] == 0
    (row,) = spend(store, Query.last("1h", by=("team",)))
    assert row["cost_unknown_units"] == 1


def test_without_a_store_flag_the_callers_pipeline_gets_no_store(make_genops, telemetry):
    rt = make_genops()
    assert rt.store_processor is None


def _writer(path: str, n: int, tag: int) -> None:
    store = LocalStore(path)
    for i in range(n):
        store.write([(1.0, 1.0, f"{tag:016x}{i:016x}", "0" * 16, "svc", "env", "t", "p", None,
                      None, None, "op", "call", "openai", "m", 1, 1, 0, 0, 0, 0.5, "USD", 0, 0,
                      "ALLOWED", None, None, None)])  # fmt: skip
    store.close()


def test_several_processes_write_one_store(tmp_path: Path):
    path = str(tmp_path / "shared.db")
    LocalStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, 50, t)) for t in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ((count, cost),) = sqlite3.connect(path).execute("SELECT COUNT(*), SUM(cost) FROM units")
    assert (count, cost) == (200, 100.0)
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_unit_exported_twice_is_stored_once(tmp_path: Path):
    store = LocalStore(tmp_path / "d.db")
    _writer(str(tmp_path / "d.db"), 3, 1)
    _writer(str(tmp_path / "d.db"), 3, 1)
    assert store.execute("SELECT COUNT(*) FROM units") == [(3,)]


def test_query_validation():
    with pytest.raises(ValueError, match="unknown field 'colour'"):
        Query.last("7d", by=("colour",))
    with pytest.raises(ValueError, match="time range is empty"):
        Query(10.0, 5.0)
    with pytest.raises(ValueError, match="unknown filter"):
        Query(0.0, 1.0, ("team",), {"planet": "x"})


def _batches_forever(path: str) -> None:
    store = LocalStore(path)
    batch = 0
    while True:
        store.write(
            (5.0, 5.0, f"{batch:016x}{i:016x}", "1" * 16, "s", "e", "t", "p", None, None, None,
             "op", "call", "openai", "m", 1, 1, 0, 0, 0, 0.1, "USD", 0, 0, "ALLOWED", None, None,
             None)
            for i in range(100)
        )  # fmt: skip
        batch += 1


def test_a_writer_killed_mid_write_leaves_whole_batches_and_a_sound_file(tmp_path: Path):
    path = str(tmp_path / "crash.db")
    LocalStore(path).close()
    proc = multiprocessing.get_context("spawn").Process(target=_batches_forever, args=(path,))
    proc.start()
    reader = LocalStore(path, readonly=True)
    for _ in range(6000):  # until a few batches are in (bounded: ~60 s)
        if reader.execute("SELECT COUNT(*) FROM units")[0][0] >= 300:
            break
        proc.join(0.01)
    proc.kill()
    proc.join(30)
    reader.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (count,) = db.execute("SELECT COUNT(*) FROM units").fetchone()
    assert count >= 300 and count % 100 == 0
