"""``genops budgets``, ``prices`` and ``policy check`` (plus the old names, kept as aliases)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Any

import click
from rich.table import Table

from genops import attributes as A
from genops.cli._common import EXIT_ERROR, Failure, out, policy_file


def _engine(policy: str | None, ledger: str | None) -> Any:
    from genops.policy.loader import build_engine

    path = policy_file(policy)
    if not path:
        raise Failure("no policy file: pass --policy or set GENOPS_POLICY_FILE")
    return build_engine(path, ledger=ledger or os.environ.get(A.ENV_LEDGER_URL) or "memory")


_POLICY = click.option("--policy", help="policy file (default: $GENOPS_POLICY_FILE)")
_LEDGER = click.option("--ledger", help="ledger URL (default: $GENOPS_LEDGER_URL or the file's)")
_JSON = click.option("--json", "as_json", is_flag=True, help="print JSON lines")


@click.command()
@_POLICY
@_LEDGER
@_JSON
def budgets(policy: str | None, ledger: str | None, as_json: bool) -> None:
    """Every budget and rate-limit instance the ledger holds: consumed, reserved,
    remaining, window. Exit 1 when the ledger holds none.

    \b
    genops budgets --policy genops-policy.yaml --ledger sqlite:///var/lib/genops/ledger.db
    """
    from genops.policy.instances import budget_instances

    engine = _engine(policy, ledger)
    try:
        found = budget_instances(engine)
    finally:
        engine.close()
    if as_json:
        for status in found:
            out().write(json.dumps(asdict(status)) + "\n")
    else:
        t = Table(title=f"Budgets in {engine.ledger.url}")
        for col in ("policy", "instance", "period", "limit", "consumed", "reserved", "remaining"):
            t.add_column(
                col,
                justify="right"
                if col in {"limit", "consumed", "reserved", "remaining"}
                else "left",
            )
        for s in found:
            instance = s.key.partition("|")[2].replace("|", " ") or "(all)"
            t.add_row(
                s.policy, instance, s.period, *(f"{v:.6g} {s.unit}" for v in
                (s.limit, s.consumed, s.reserved, s.remaining))
            )  # fmt: skip
        out().console().print(t)
    if not found:
        raise click.exceptions.Exit(EXIT_ERROR)


@click.command("budget-status")
@click.argument("name", required=False)
@click.argument("per", nargs=-1)
@_POLICY
@_LEDGER
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def budget_status(
    name: str | None, per: tuple[str, ...], policy: str | None, ledger: str | None, as_json: bool
) -> None:
    """One budget instance (NAME field=value ...); without NAME, list the ledger policies.
    (Older name; ``genops budgets`` lists every instance.)"""
    from genops.policy.budget import LedgerPolicy

    engine = _engine(policy, ledger)
    try:
        if not name:
            for p in engine.policies:
                if isinstance(p, LedgerPolicy):
                    fields = " ".join(f"{f}=..." for f in p.per)
                    out().write(f"{p.name}\t{p.kind}\t{p.window.name}\t{fields}\n")
            return
        values: dict[str, str] = {}
        for item in per:
            field, sep, value = item.partition("=")
            if not sep or not field or not value:
                raise Failure(f"per values are field=value, got {item!r}")
            values[field] = value
        try:
            s = engine.budget_status(name, **values)
        except KeyError as exc:
            raise Failure(str(exc.args[0])) from None
    finally:
        engine.close()
    if as_json:
        out().write(json.dumps(asdict(s)) + "\n")
        return
    out().write(
        f"{s.policy} [{s.key}] period {s.period}\n"
        f"  limit     {s.limit:.6g} {s.unit}\n"
        f"  consumed  {s.consumed:.6g} {s.unit}\n"
        f"  reserved  {s.reserved:.6g} {s.unit}\n"
        f"  remaining {s.remaining:.6g} {s.unit}\n"
    )


@click.command()
@click.argument("model")
@click.option("--provider", help="provider (openai, anthropic, aws.bedrock, ...)")
@click.option("--prices", "prices_file", help="price overrides file, as init(prices=...)")
@_JSON
def prices(model: str, provider: str | None, prices_file: str | None, as_json: bool) -> None:
    """What genops would charge for MODEL: USD per million tokens of each kind, and the
    source (override or genai-prices) with its version. Exit 1 when unknown.

    \b
    genops prices gpt-4o-mini
    genops prices claude-3-5-haiku-latest --provider anthropic --prices prices.yaml
    """
    from genops.pricing import PriceBook, load_overrides

    book = PriceBook.default(load_overrides(prices_file) if prices_file else [])
    found = book.lookup(provider, model)
    if found is None:
        raise Failure(
            f"no price for model {model!r}" + (f" at provider {provider!r}" if provider else "")
            + ": genops records its tokens with genops.cost.unknown = true (never $0)",
            EXIT_ERROR,
        )  # fmt: skip
    rates = {
        kind: (None if getattr(found, kind) is None else str(getattr(found, kind)))
        for kind in ("input", "output", "cache_read", "cache_write", "reasoning")
    }
    per_request = None if found.per_request is None else str(found.per_request)
    doc = {
        "provider": found.provider, "model": found.model, "unit": "USD per 1M tokens",
        "rates": rates, "per_request": per_request, "source": found.source,
        "version": found.version, **_price_dates(provider, model, found),
    }  # fmt: skip
    if as_json:
        out().write(json.dumps(doc) + "\n")
        return
    t = Table(title=f"{found.provider} {found.model} — USD per 1M tokens")
    t.add_column("token kind")
    t.add_column("price", justify="right")
    for kind, rate in rates.items():
        t.add_row(kind, rate if rate is not None else "(as input/output)")
    if found.per_request is not None:
        t.add_row("per request (USD)", str(found.per_request))
    console = out().console()
    console.print(t)
    console.print(_source_line(doc, prices_file), soft_wrap=True, markup=False)


def _price_dates(provider: str | None, model: str, found: Any) -> dict[str, Any]:
    """``price_since`` / ``next_price_change`` / ``data_newest_date`` (ISO dates or None)."""
    from genops.pricing import GenaiPricesSource

    if found.source != "genai-prices":  # an override: its effective_from is its date
        since = found.version if found.version not in ("", "user") else None
        return {"price_since": since, "next_price_change": None, "data_newest_date": None}
    dates = GenaiPricesSource().dates(provider, model)
    picked = (dates.since, dates.next_change, dates.newest) if dates else (None, None, None)
    keys = ("price_since", "next_price_change", "data_newest_date")
    return {k: d.isoformat() if d else None for k, d in zip(keys, picked, strict=True)}


def _source_line(doc: dict[str, Any], prices_file: str | None) -> str:
    since, upcoming = doc["price_since"], doc["next_price_change"]
    if doc["source"] != "genai-prices":
        where = prices_file or "init(prices=...)"
        return f"source: price override from {where}, " + (
            f"effective from {since}" if since else "no effective_from (always in force)"
        )
    lines = [
        f"source: genai-prices {doc['version']} — the price data bundled in that release",
        "  (genai-prices publishes no data date; genops never fetches price updates)",
        f"this price applies since {since}" if since
        else "this price has no start date in the data (no price change recorded for the model)",
    ]  # fmt: skip
    if upcoming:
        lines.append(f"a new price for this model starts on {upcoming}")
    if doc["data_newest_date"]:
        lines.append(
            f"newest dated price in the bundled data: {doc['data_newest_date']} "
            "(scheduled changes are listed in advance)"
        )
    return "\n".join(lines)


@click.group()
def policy() -> None:
    """Policy files."""


def _check(file: str) -> None:
    from genops.policy.loader import load

    config = load(file)
    o = out()
    o.write(f"{file}: OK, {len(config.policies)} policies\n")
    for p in config.policies:
        o.write(f"  {p.name}\t{type(p).__name__}\t{p.enforcement.value}\t{_explain(p)}\n")
    if config.audit_sink:
        o.write(f"  audit sink: {config.audit_sink}\n")


def _explain(p: Any) -> str:
    """One line on what a policy does (from its own settings)."""
    parts = []
    for attr in ("models", "limit", "unit", "window", "per", "detect", "action", "requests",
                 "max_tokens", "regions", "sla", "percentile", "metric", "min_pass_rate",
                 "min_score", "min_samples", "window_seconds", "scope"):  # fmt: skip
        value = getattr(p, attr, None)
        selector = getattr(value, "selector", None)  # a Scope: show what it selects
        if isinstance(selector, dict):
            value = selector
        if value in (None, (), [], {}, ""):
            continue
        if hasattr(value, "name") and not isinstance(value, str):
            value = value.name
        parts.append(f"{attr}={value}")
    return " ".join(parts)


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_check(file: str) -> None:
    """Validate FILE and explain each policy: name, type, enforcement, settings.

    \b
    genops policy check genops-policy.yaml
    """
    _check(file)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
def validate(file: str) -> None:
    """Validate a policy file (older name of ``genops policy check``)."""
    _check(file)
