"""Running the demo: one policy, one runtime, every scenario, then the answers.

The runtime writes to the local spend store (``genops report`` reads it afterwards)
and an audit trail beside it; no network connection leaves the host.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

import genops
from genops.demo.fake_provider import FakeProvider
from genops.demo.registry import DemoContext, Scenario, discover
from genops.policy.engine import BudgetStatus
from genops.store import LocalStore, Query, decisions, default_path, spend

#: The budget that runs out mid-demo.
BUDGET = "research-daily"
BUDGET_TEAM = "research"
#: Models approved for every scenario, besides those a scenario declares.
BASE_MODELS = ("gpt-4o-mini", "text-embedding-3-small", "claude-3-5-haiku-*")


def demo_policy(models: tuple[str, ...], audit_sink: str) -> dict[str, Any]:
    """Allow, warn, redact and block — and a budget small enough to run out."""
    return {
        "version": 1,
        "defaults": {"enforcement": "BLOCKED"},
        "audit": {"sink": audit_sink},
        "policies": [
            {"name": "approved-models", "type": "allowed_models",
             "models": sorted({*BASE_MODELS, *models})},
            {"name": "redact-contact-data", "type": "content",
             "detect": ["email", "credit_card"], "action": "redact"},
            {"name": "no-ssn", "type": "content", "detect": ["ssn"], "action": "block"},
            {"name": "large-completions", "type": "max_tokens", "limit": 1024,
             "enforcement": "WARNING"},
            {"name": "per-call-cap", "type": "max_cost_per_call", "limit": 0.05},
            {"name": BUDGET, "type": "budget", "limit": 0.002, "window": "daily",
             "per": "team", "scope": {"team": BUDGET_TEAM}, "alert_at": [0.5, 0.8, 1.0]},
        ],
    }  # fmt: skip


class _ExpectedBlocks(logging.Filter):
    """LangChain logs a warning for every callback that raises, even when the error is
    re-raised to the caller on purpose; the demo's blocks are shown in its own table."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "PolicyViolationError" not in record.getMessage()


@dataclass
class DemoResult:
    """What the demo did and where its data is."""

    since: float
    until: float
    store: Path
    audit: Path
    scenarios: list[Scenario]
    context: DemoContext
    budget: BudgetStatus | None = None
    provider_requests: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


def run(
    *,
    store: Path | None = None,
    console: Console | None = None,
    scenarios: list[Scenario] | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
) -> DemoResult:
    """Run every scenario and print spend by team × model, blocked calls by reason,
    the budget and where the data went. ``tracer_provider``/``meter_provider``: send
    the telemetry there too (tests), instead of nowhere."""
    console = console or Console()
    chosen = discover() if scenarios is None else scenarios
    if not chosen:
        raise ValueError(
            "no demo scenarios: install an integration package (genops-native, "
            "genops-langchain, genops-llamaindex, genops-haystack)"
        )
    path = store or default_path()
    audit = path.with_name("demo-audit.jsonl")
    since = time.time()
    quiet = _ExpectedBlocks()
    langchain_log = logging.getLogger("langchain_core.callbacks.manager")
    langchain_log.addFilter(quiet)
    try:
        result = _run(chosen, path, audit, since, console, tracer_provider, meter_provider)
    finally:
        langchain_log.removeFilter(quiet)
    _print(result, console)
    return result


def _run(
    chosen: list[Scenario],
    path: Path,
    audit: Path,
    since: float,
    console: Console,
    tracer_provider: Any,
    meter_provider: Any,
) -> DemoResult:
    models = tuple(m for s in chosen for m in s.models)
    with FakeProvider() as fake:
        genops.init(
            service_name="genops-demo",
            environment="demo",
            team="platform",
            project="demo",
            policy=demo_policy(models, f"jsonl:///{audit}"),
            exporter="none",
            local_store=path,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            instrument=True,
        )
        ctx = DemoContext(fake=fake)
        total = sum(s.steps for s in chosen)
        with Progress(
            TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
            console=console, transient=False,
        ) as progress:  # fmt: skip
            task = progress.add_task("starting", total=total)
            ctx.advance = lambda: progress.advance(task)
            for scenario in chosen:
                ctx.scenario = scenario.name
                progress.update(task, description=f"{scenario.team}: {scenario.name}")
                scenario.run(ctx)
            progress.update(task, description="done", completed=total)
        budget = _budget()
        requests = fake.requests
        genops.shutdown()
    return DemoResult(since, time.time() + 1e-6, path, audit, chosen, ctx, budget, requests)


def _budget() -> BudgetStatus | None:
    try:
        return genops.budget_status(BUDGET, team=BUDGET_TEAM)
    except (KeyError, ValueError):
        return None


def _print(result: DemoResult, console: Console) -> None:
    db = LocalStore(result.store, readonly=True)
    try:
        window = Query(result.since, result.until, ("team", "model"))
        result.rows = spend(db, window)
        blocked = decisions(db, window)
    finally:
        db.close()
    t = Table(title="Spend by team × model (this run, from the local store)")
    for col in ("team", "model", "calls", "blocked", "tokens", "cost USD"):
        t.add_column(
            col, justify="right" if col in {"calls", "blocked", "tokens", "cost USD"} else "left"
        )
    for r in result.rows:
        t.add_row(
            r["team"], r["model"], str(r["calls"]), str(r["blocked"]),
            f"{r['input_tokens'] + r['output_tokens']:,}", f"{r['cost']:.6f}",
        )  # fmt: skip
    console.print(t)
    d = Table(title="Policy decisions other than ALLOWED, by reason")
    for col in ("result", "reason code", "policy", "units"):
        d.add_column(col, justify="right" if col == "units" else "left")
    for r in blocked:
        d.add_row(r["decision"], r["reason_code"], r["policy"], str(r["units"]))
    console.print(d)
    if result.budget is not None:
        b = result.budget
        console.print(
            f"Budget {b.policy} {escape(b.key)} {b.period}: consumed ${b.consumed:.6f} of "
            f"${b.limit:.6f}, reserved ${b.reserved:.6f}, remaining ${b.remaining:.6f}"
        )
    for note in result.context.notes:
        console.print(f"• {escape(note)}")
    console.print(
        escape(
            f"\nWhere the data went: spend → local store {result.store} "
            f"(`genops report --since 1h --by team,model`), decisions → audit trail "
            f"{result.audit} (`genops audit --sink jsonl:///{result.audit}`); "
            f"{result.provider_requests} requests reached the loopback provider; "
            "no network connection left this host."
        )
    )
