"""``genops budgets``, ``prices``, ``policy check`` and ``audit`` (new behaviour)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

import yaml
from genai_prices.types import StartDateConstraint

from tests.cli.conftest import run_cli
from tests.policy.test_cli import policy_file, traffic

__all__ = ["policy_file"]


def test_budgets_lists_every_instance(make_genops, policy_file: Path):
    traffic(make_genops, policy_file)
    import genops

    with genops.attribution(team="search"):
        estimate = genops.RequestEstimate(input_tokens=10, max_output_tokens=10)
        with genops.governed("q", provider="openai", model="acme-small", request=estimate) as unit:
            unit.record_usage(input_tokens=10, output_tokens=10)
    genops.get_runtime().engine.audit.flush()  # type: ignore[attr-defined]
    code, out = run_cli("budgets", "--policy", str(policy_file), "--json")
    assert code == 0
    found = {s["key"]: s for s in map(json.loads, out.splitlines())}
    assert set(found) == {"budget:spend|team=support", "budget:spend|team=search"}
    assert found["budget:spend|team=support"]["consumed"] > 0
    code, table = run_cli("budgets", "--policy", str(policy_file))
    assert code == 0 and "team=support" in table and "team=search" in table


def test_budgets_with_nothing_held_exits_1(policy_file: Path):
    code, _ = run_cli("budgets", "--policy", str(policy_file))
    assert code == 1


def test_prices_known_override_and_unknown(tmp_path: Path, capsys):
    code, out = run_cli("prices", "gpt-4o-mini", "--provider", "openai", "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["source"], doc["rates"]["input"], doc["rates"]["output"]) == (
        "genai-prices", "0.15", "0.6",
    )  # fmt: skip
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump([{"provider": "acme", "model": "acme-*", "input": 2,
                                       "output": 8}]))  # fmt: skip
    code, out = run_cli("prices", "acme-large", "--provider", "acme", "--prices", str(prices))
    assert code == 0 and "override" in out and "input" in out
    assert run_cli("prices", "no-such-model-xyz")[0] == 1
    assert "no price for model 'no-such-model-xyz'" in capsys.readouterr().err


def _dated_model() -> tuple[str, str, date, date]:
    """A model whose genai-prices data carries start dates (read straight from the data):
    (provider id, model id, start of today's price, newest start date in the data)."""
    from genai_prices.data import providers

    today = datetime.now(UTC).date()
    every = [
        (p.id, m.id, c.constraint.start_date)
        for p in providers
        for m in p.models
        if isinstance(m.prices, list)
        for c in m.prices
        if isinstance(c.constraint, StartDateConstraint)
    ]
    provider, model, _ = next((p, m, d) for p, m, d in every if d <= today)
    since = max(d for p, m, d in every if (p, m) == (provider, model) and d <= today)
    return provider, model, since, max(d for _, _, d in every)


def test_prices_show_source_and_data_dates(tmp_path: Path):
    provider, model, since, newest = _dated_model()
    code, out = run_cli("prices", model, "--provider", provider, "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["source"], doc["version"]) == ("genai-prices", version("genai-prices"))
    assert (doc["price_since"], doc["data_newest_date"]) == (since.isoformat(), newest.isoformat())
    code, out = run_cli("prices", model, "--provider", provider)
    assert f"source: genai-prices {version('genai-prices')}" in out
    assert "genai-prices publishes no data date" in out
    assert f"this price applies since {since.isoformat()}" in out
    assert f"newest dated price in the bundled data: {newest.isoformat()}" in out
    code, out = run_cli("prices", "gpt-4o-mini", "--provider", "openai")  # a flat price
    assert "this price has no start date in the data" in out
    prices = tmp_path / "prices.yaml"
    prices.write_text(yaml.safe_dump([{"provider": "acme", "model": "acme-*", "input": 2,
                                       "output": 8, "effective_from": "2026-01-01"}]))  # fmt: skip
    code, out = run_cli("prices", "acme-large", "--provider", "acme", "--prices", str(prices))
    assert f"source: price override from {prices}, effective from 2026-01-01" in out
    code, out = run_cli("prices", "acme-large", "--provider", "acme", "--prices", str(prices),
                        "--json")  # fmt: skip
    assert json.loads(out)["price_since"] == "2026-01-01"


def test_policy_check_explains(policy_file: Path, tmp_path: Path, capsys):
    code, out = run_cli("policy", "check", str(policy_file))
    assert code == 0 and "OK, 2 policies" in out
    assert "models=" in out and "window=monthly" in out and "audit sink:" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\npolicies:\n  - {name: x, type: magic}\n")
    assert run_cli("policy", "check", str(bad))[0] == 2
    assert "unknown policy type 'magic'" in capsys.readouterr().err


def test_audit_sink_errors_filters_and_truncation(make_genops, policy_file: Path, tmp_path, capsys):
    assert run_cli("audit", "--sink", str(tmp_path / "nope.txt"))[0] == 2
    assert "unsupported audit sink" in capsys.readouterr().err
    assert run_cli("audit", "--sink", f"sqlite:///{tmp_path / 'missing.db'}")[0] == 1
    assert "does not exist" in capsys.readouterr().err
    traffic(make_genops, policy_file)
    code, out = run_cli("audit", "--policy-file", str(policy_file), "--project", "nope")
    assert code == 1
    code, out = run_cli("audit", "--policy-file", str(policy_file), "--limit", "2")
    assert code == 0 and len(out.splitlines()) == 2
    assert "showing the newest 2 records; more match" in capsys.readouterr().err
