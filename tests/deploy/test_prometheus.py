"""Dashboards and rules against a real Prometheus scraping a real governed workload.

The workload (tests/deploy/workload.py) runs genops with ``metrics_exporter="prometheus"``;
Prometheus scrapes it every second. Every query is evaluated at the timestamp of the
last scrape, where ``increase()`` has nothing to extrapolate: the numbers are exact.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.apps import app_env
from tests.deploy import workload as W
from tests.deploy.prometheus import (
    DASHBOARD,
    RULES,
    RULES_TEST,
    Prometheus,
    free_port,
    require,
    values,
    wait_for,
)
from tests.paths import REPO

#: the README's answer to "what did team X spend last week"
LAST_WEEK = 'sum(increase(genops_cost_USD_total{genops_team="search"}[1w]))'

#: Grafana's variables, as Grafana would substitute them for this test's time range
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__range": "1h",
    "$__interval": "15s",
    "$team": ".*",
    "$environment": ".*",
}


class Scraped:
    """Prometheus after it scraped both phases of the workload; ``at`` = last scrape."""

    def __init__(self, prometheus: Prometheus, at: float) -> None:
        self.prometheus = prometheus
        self.at = at

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.prometheus.query(expr, at=self.at)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    require("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    env = app_env(OTEL_TRACES_EXPORTER="none")
    app = subprocess.Popen(
        [sys.executable, "-m", "tests.deploy.workload", str(port)],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(tmp / "workload.log").open("w"),
        text=True,
    )
    assert app.stdin is not None and app.stdout is not None
    prometheus = Prometheus(tmp, [f"127.0.0.1:{port}"])
    try:
        assert app.stdout.readline().strip() == "phase-a done", (tmp / "workload.log").read_text()
        wait_for(lambda: prometheus.query("genops_cost_USD_total"), "the first scrape")
        app.stdin.write("go\n")
        app.stdin.flush()
        assert app.stdout.readline().strip() == "phase-b done", (tmp / "workload.log").read_text()
        total = sum(W.EXPECTED_BY_TEAM.values())
        last_scrape = "max(timestamp(genops_cost_USD_total))"
        wait_for(
            lambda: prometheus.query(f"abs(sum(genops_cost_USD_total) - {total}) < 1e-9"),
            "the scrape that sees phase B",
        )
        first_b = float(prometheus.query(last_scrape)[0]["value"][1])
        # one more scrape, so every rate() has points on both sides of phase B
        wait_for(
            lambda: float(prometheus.query(last_scrape)[0]["value"][1]) > first_b,
            "the next scrape",
        )
        at = float(prometheus.query("max(timestamp(genops_cost_USD_total))")[0]["value"][1])
        yield Scraped(prometheus, at)
    finally:
        app.stdin.close()
        try:
            app.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        prometheus.stop()


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title / refId, expr) of every target in the dashboard JSON."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (f"{panel['title']} / {target['refId']}", target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def grafana(expr: str) -> str:
    for name, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def panel_expr(title: str) -> str:
    [expr] = [e for name, e in dashboard_queries() if name.startswith(f"{title} /")]
    return grafana(expr)


def test_last_week_query_returns_what_the_team_spent(scraped: Scraped) -> None:
    [sample] = scraped.query(LAST_WEEK)
    assert float(sample["value"][1]) == pytest.approx(W.EXPECTED_BY_TEAM["search"], rel=1e-9)
    readme = (REPO / "README.md").read_text()
    assert LAST_WEEK in readme


def test_dashboard_spend_by_team_and_by_model_are_exact(scraped: Scraped) -> None:
    by_team = values(scraped.query(panel_expr("Spend by team (selected range)")), "genops_team")
    assert by_team == pytest.approx(W.EXPECTED_BY_TEAM, rel=1e-9)
    by_model = values(
        scraped.query(panel_expr("Spend by provider and model (selected range)")),
        "gen_ai_request_model",
    )
    assert by_model == pytest.approx(W.EXPECTED_BY_MODEL, rel=1e-9)


def test_every_dashboard_query_parses_and_returns_data(scraped: Scraped) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 12
    for name, expr in queries:
        result = scraped.query(grafana(expr))
        assert result, f"{name}: no data for {grafana(expr)}"
        assert all(r["value"][1] != "NaN" for r in result), f"{name}: NaN in {result}"


def test_dashboard_panels_show_what_the_workload_did(scraped: Scraped) -> None:
    reasons = values(
        scraped.query(panel_expr("Top blocked reasons (selected range)")),
        "genops_policy_reason_code",
    )
    # (phase A blocked once before the first scrape, phase B once: increase() extrapolates
    # a series that did not start at 0, so this count is approximate, as Prometheus says)
    assert set(reasons) == {"POLICY_DENY_MODEL"} and reasons["POLICY_DENY_MODEL"] >= 1
    budgets = values(scraped.query(panel_expr("Budget utilisation")), "genops_budget_scope")
    assert budgets == pytest.approx({"team=search": 2.0 / 2.4, "team=support": 0.7 / 2.4})
    [unknown] = scraped.query(panel_expr("Calls with unknown cost (selected range)"))
    assert float(unknown["value"][1]) >= 1


def test_dashboard_variables_list_the_teams(scraped: Scraped) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((\w+), (\w+)\)", var["query"]["query"])
        assert match, var["query"]
        metric, label = match.groups()
        assert scraped.prometheus.label_values(label, metric), var["name"]
    teams = scraped.prometheus.label_values("genops_team", "genops_cost_USD_total")
    assert set(teams) == set(W.EXPECTED_BY_TEAM)


def test_rules_load_evaluate_and_the_budget_alert_fires(scraped: Scraped) -> None:
    prometheus = scraped.prometheus
    rules = wait_for(
        lambda: (
            [r for r in prometheus.rules() if r.get("lastEvaluation", "").startswith("2")]
            and prometheus.rules()
        ),
        "rule evaluation",
    )
    defined = yaml.safe_load(RULES.read_text())
    names = {r.get("record") or r.get("alert") for g in defined["groups"] for r in g["rules"]}
    assert {r["name"] for r in rules} == names
    assert all(r["health"] == "ok" for r in rules), [r for r in rules if r["health"] != "ok"]

    def budget_warning() -> list[dict[str, Any]]:
        [rule] = [r for r in prometheus.rules() if r["name"] == "GenOpsBudgetWarning"]
        return [a for a in rule["alerts"] if a["state"] == "firing"]

    firing = wait_for(budget_warning, "GenOpsBudgetWarning to fire")
    assert [a["labels"]["genops_budget_scope"] for a in firing] == ["team=search"]


def test_rule_expressions_return_the_expected_series(scraped: Scraped) -> None:
    defined = yaml.safe_load(RULES.read_text())
    exprs = {
        r.get("record") or r["alert"]: r["expr"] for g in defined["groups"] for r in g["rules"]
    }
    spent = values(scraped.query(exprs["genops_team:genops_cost_usd:increase1h"]), "genops_team")
    assert spent == pytest.approx(W.EXPECTED_BY_TEAM, rel=1e-9)
    by_model = values(
        scraped.query(exprs["genops_model:genops_cost_usd:rate5m"]), "gen_ai_request_model"
    )
    assert set(by_model) == set(W.EXPECTED_BY_MODEL)
    assert scraped.query(exprs["genops:genops_policy_blocked:ratio_rate5m"])
    warning = scraped.query(exprs["GenOpsBudgetWarning"])
    assert [r["metric"]["genops_budget_scope"] for r in warning] == ["team=search"]
    assert scraped.query(exprs["GenOpsBudgetExhausted"]) == []
    unknown = scraped.query(exprs["GenOpsUnknownCostCalls"])
    assert [r["metric"]["gen_ai_request_model"] for r in unknown] == ["mystery-model"]
    assert scraped.query(exprs["GenOpsNoTelemetry"]) == []
    assert scraped.query(exprs["GenOpsInternalErrors"]) == []


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = require("promtool")
    check = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        [promtool, "test", "rules", RULES_TEST.name],
        cwd=RULES_TEST.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert "SUCCESS" in unit.stdout


def test_rules_test_file_covers_both_budget_alerts() -> None:
    tests = yaml.safe_load(Path(RULES_TEST).read_text())["tests"]
    alerted = {
        t["alertname"] for case in tests for t in case.get("alert_rule_test", []) if t["exp_alerts"]
    }
    assert {"GenOpsBudgetWarning", "GenOpsBudgetExhausted"} <= alerted


def by_labels(result: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(r["metric"].get(k, "") for k in labels): float(r["value"][1]) for r in result}


def test_sla_and_evaluation_series_and_rules_show_what_the_workload_did(scraped: Scraped) -> None:
    # search: 2 + 5 calls, all within "interactive"; support: 2 + 2 calls, all over 1 ms
    units = scraped.query("sum by (genops_sla_tier, genops_sla_met) (genops_sla_units_total)")
    assert by_labels(units, "genops_sla_tier", "genops_sla_met") == {
        ("interactive", "true"): 7,
        ("realtime", "false"): 4,
    }
    defined = yaml.safe_load(RULES.read_text())
    exprs = {
        r.get("record") or r["alert"]: r["expr"] for g in defined["groups"] for r in g["rules"]
    }
    misses = scraped.query(exprs["genops_sla_tier:genops_sla_miss:ratio_rate10m"])
    assert values(misses, "genops_sla_tier") == {"interactive": 0.0, "realtime": 1.0}
    p95 = values(
        scraped.query(exprs["genops_sla_tier:genops_sla_latency_seconds:p95_5m"]), "genops_sla_tier"
    )
    assert set(p95) == {"interactive", "realtime"} and all(0 < v < 1 for v in p95.values())
    results = scraped.query(
        "sum by (gen_ai_request_model, genops_eval_passed) (genops_evaluation_results_total)"
    )
    assert by_labels(results, "gen_ai_request_model", "genops_eval_passed") == {
        ("acme-large", "true"): 4,
        ("acme-large", "false"): 2,
        ("acme-small", "true"): 3,
        ("acme-small", "false"): 2,
    }
    rate = values(
        scraped.query(exprs["genops_eval:genops_evaluation_pass:ratio_rate1h"]),
        "gen_ai_request_model",
    )
    assert set(rate) == {"acme-large", "acme-small"} and all(0 < v < 1 for v in rate.values())
    # too few misses / evaluations for the alerts' volume floors
    assert scraped.query(exprs["GenOpsSlaLatencyMisses"]) == []
    assert scraped.query(exprs["GenOpsEvaluationPassRateLow"]) == []
    assert scraped.query(exprs["GenOpsPolicyReloadFailed"]) == []
