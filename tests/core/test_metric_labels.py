"""Metric labels: the cardinality guard, decisions by result, known-zero cost."""

from __future__ import annotations

import threading

import pytest

import genops
from genops import attributes as A
from genops.cardinality import LabelGuard

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]


def test_guard_keeps_the_first_values_and_collapses_the_rest():
    overflowed: list[str] = []
    guard = LabelGuard([A.TEAM], limit=2, overflow="_OTHER", on_overflow=overflowed.append)
    assert [guard.apply({A.TEAM: t})[A.TEAM] for t in ("a", "b", "c", "a", "d", "b")] == [
        "a",
        "b",
        "_OTHER",
        "a",
        "_OTHER",
        "b",
    ]
    assert overflowed == [A.TEAM, A.TEAM]
    assert guard.apply({"other.label": "x"}) == {"other.label": "x"}  # unguarded


def test_guard_is_exact_under_threads():
    guard = LabelGuard([A.TEAM], limit=50)
    values = [f"team-{i}" for i in range(200)]

    def run() -> None:
        for v in values:
            guard.apply({A.TEAM: v})

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert guard.distinct(A.TEAM) == 50


def test_runtime_collapses_labels_past_the_limit_and_counts_it(telemetry, make_genops):
    make_genops(prices=PRICES, metric_label_limit=2, metric_label_overflow="other-models")
    for model in ("acme-a", "acme-b", "acme-c", "acme-d"):
        with genops.governed("reply", provider="openai", model=model) as unit:
            unit.record_usage(input_tokens=1, output_tokens=0)
    metrics = telemetry.metrics()
    by_model = {p.attributes[A.GEN_AI_REQUEST_MODEL]: p.value for p in metrics[A.METRIC_COST]}
    assert by_model == pytest.approx({"acme-a": 0.001, "acme-b": 0.001, "other-models": 0.002})
    overflow = {p.attributes[A.METRIC_LABEL]: p.value for p in metrics[A.METRIC_LABEL_OVERFLOW]}
    assert overflow[A.GEN_AI_REQUEST_MODEL] > 0
    # spans keep the real values
    assert {s.attributes[A.GEN_AI_REQUEST_MODEL] for s in telemetry.spans()} == {
        "acme-a",
        "acme-b",
        "acme-c",
        "acme-d",
    }


def test_label_limit_from_the_environment(telemetry, make_genops, monkeypatch):
    monkeypatch.setenv(A.ENV_METRIC_LABEL_LIMIT, "1")
    monkeypatch.setenv(A.ENV_METRIC_LABEL_OVERFLOW, "_MANY")
    rt = make_genops()
    assert (rt.label_guard.limit, rt.label_guard.overflow) == (1, "_MANY")


def test_decisions_count_allowed_units_and_each_objection(telemetry, make_genops):
    make_genops()
    genops.register_policy("warn", lambda r: r.model != "gpt-4o", reason_code="x_prefer_mini",
                           enforcement="WARNING")  # fmt: skip
    with genops.governed("a", provider="openai", model="gpt-4o-mini"):
        pass
    with genops.governed("b", provider="openai", model="gpt-4o"):
        pass
    points = telemetry.metrics()[A.METRIC_POLICY_DECISIONS]
    got = sorted(
        (p.attributes[A.POLICY_RESULT], p.attributes.get(A.POLICY_REASON_CODE), p.value)
        for p in points
    )
    assert got == [("ALLOWED", None, 1), ("WARNING", "x_prefer_mini", 1)]


def test_known_zero_cost_is_recorded_unknown_cost_is_counted(telemetry, make_genops):
    make_genops(prices=PRICES)
    with genops.governed("free", provider="openai", model="acme-large") as unit:
        unit.record_usage(input_tokens=0, output_tokens=0)
    with genops.governed("mystery", provider="nobody", model="no-such-model") as unit:
        unit.record_usage(input_tokens=5, output_tokens=5)
    with genops.governed("workflow", "workflow"):
        pass
    metrics = telemetry.metrics()
    [cost] = metrics[A.METRIC_COST]
    assert (cost.attributes[A.GEN_AI_REQUEST_MODEL], cost.value) == ("acme-large", 0)
    [unknown] = metrics[A.METRIC_COST_UNKNOWN]
    assert unknown.attributes[A.GEN_AI_REQUEST_MODEL] == "no-such-model"


def test_cached_label_sets_still_count_every_collapse(telemetry, make_genops):
    """Label sets are built once per key (genops._record.LabelCache); a later unit with
    the same collapsed labels must count its collapses too, as an uncached one would."""
    make_genops(prices=PRICES, metric_label_limit=1, metric_label_overflow="_OTHER")

    def overflow_count() -> float:
        points = telemetry.metrics().get(A.METRIC_LABEL_OVERFLOW, [])
        return sum(
            p.value for p in points if p.attributes[A.METRIC_LABEL] == A.GEN_AI_REQUEST_MODEL
        )

    for model in ("acme-a", "acme-b"):
        with genops.governed("reply", provider="openai", model=model) as unit:
            unit.record_usage(input_tokens=1, output_tokens=0)
    first = overflow_count()
    assert first > 0
    for _ in range(3):  # the same collapsed label set, now from the cache
        with genops.governed("reply", provider="openai", model="acme-b") as unit:
            unit.record_usage(input_tokens=1, output_tokens=0)
    assert overflow_count() == pytest.approx(first * 4)
    by_model = {
        p.attributes[A.GEN_AI_REQUEST_MODEL]: p.value for p in telemetry.metrics()[A.METRIC_COST]
    }
    assert by_model == pytest.approx({"acme-a": 0.001, "_OTHER": 0.004})
