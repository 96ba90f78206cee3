"""The Grafana dashboard: Grafana's own schema types accept it as it is, and every panel
reads metric names genops really exports, in both semantic-convention modes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import prometheus as prometheus_query
from grafana_foundation_sdk.models.dashboard import Dashboard
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, generate_latest

import genops
from genops import attributes as A
from tests.deploy import workload as W
from tests.deploy.prometheus import DASHBOARD

PANEL_TYPES = {"timeseries", "bargauge", "stat", "gauge", "table", "piechart", "barchart"}
NAME = re.compile(r"\b(?:genops|gen_ai)_\w+")


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads (label names and string arguments left out)."""
    names = {n for alt in re.findall(r'__name__=~"([^"]+)"', expr) for n in alt.split("|")}
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r'"[^"]*"', "", expr)  # label_replace arguments
    expr = re.sub(r",\s*\w+\)", ")", expr)  # label_values(metric, label)
    return names | set(NAME.findall(expr))


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def dropped(ours: Any, decoded: Any, path: str = "") -> list[str]:
    """Keys or values of ``ours`` that Grafana's types did not keep."""
    if isinstance(ours, dict) and isinstance(decoded, dict):
        out = []
        for key, value in ours.items():
            if key not in decoded:
                out.append(f"{path}/{key}")
            else:
                out += dropped(value, decoded[key], f"{path}/{key}")
        return out
    if isinstance(ours, list) and isinstance(decoded, list):
        if len(ours) != len(decoded):
            return [f"{path} (length)"]
        return [
            p
            for i, (a, b) in enumerate(zip(ours, decoded, strict=True))
            for p in dropped(a, b, f"{path}[{i}]")
        ]
    return [] if ours == decoded else [f"{path}: {ours!r} -> {decoded!r}"]


def test_grafana_schema_types_keep_every_field():
    register_default_plugins()
    ours = load()
    model = Dashboard.from_json(ours)
    decoded = json.loads(JSONEncoder().encode(model))
    assert dropped(ours, decoded) == []
    for panel in model.panels or []:
        assert all(isinstance(t, prometheus_query.Dataquery) for t in panel.targets or [])


def test_panels_targets_and_datasource_variable():
    dashboard = load()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"team", "environment"} <= variables.keys()
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = " | ".join(p["title"] for p in dashboard["panels"])
    for needed in ("Spend by team", "Spend by project", "provider and model", "Tokens",
                   "p50 / p95", "Policy decisions", "blocked reasons", "Budget utilisation"):  # fmt: skip
        assert needed in titles
    for panel in dashboard["panels"]:
        assert panel["type"] in PANEL_TYPES
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert target["expr"].strip()


def exported_names(monkeypatch: pytest.MonkeyPatch, telemetry: Any, latest: bool) -> set[str]:
    """Metric names in the Prometheus exposition of the test workload, in one mode."""
    if latest:
        monkeypatch.setenv(A.ENV_SEMCONV_OPT_IN, "gen_ai_latest_experimental")
    else:
        monkeypatch.delenv(A.ENV_SEMCONV_OPT_IN, raising=False)
    registry = CollectorRegistry()
    meter_provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    genops.init(
        service_name="names",
        policy=W.POLICY,
        prices=W.PRICES,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=meter_provider,
        instrument=False,
        metric_label_limit=3,
    )
    for team, model, _ in W.CALLS:
        W.call(team, model, 100, 50)
    W.blocked("search")
    W.unknown_price()
    with (
        genops.attribution(team="a", project="p"),
        genops.governed("x", provider="p", model="mystery-4"),
    ):
        pass  # a fourth model: the label guard overflows
    text = generate_latest(registry).decode()
    genops.shutdown()
    meter_provider.shutdown()
    return {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if not line.startswith("#")
    }


@pytest.mark.parametrize("latest", [False, True], ids=["v1.41", "latest-experimental"])
def test_every_panel_reads_names_genops_exports(monkeypatch, telemetry, latest):
    names = exported_names(monkeypatch, telemetry, latest)
    assert ("gen_ai_client_token_usage_sum" in names) is not latest
    assert ("gen_ai_client_inference_usage_input_tokens_total" in names) is latest
    for panel in load()["panels"]:
        for target in panel["targets"]:
            referenced = metric_names(target["expr"])
            assert referenced, target["expr"]
            if "genops_internal_errors_total" in referenced:
                continue  # only exists after an internal error (the panel falls back to 0)
            assert referenced & names, f"{panel['title']}: none of {referenced} exported"
