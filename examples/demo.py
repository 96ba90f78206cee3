"""genops offline demo: attribution, policy before spend, budgets, and the cost report.

Runs the real ``openai`` and ``anthropic`` SDK clients against an offline stand-in
for their HTTP APIs (``offline_provider.py``), with genops configured as a platform
team would: a policy file, zero-code SDK instrumentation, an in-memory span pipeline.

    uv run python examples/demo.py
"""

from __future__ import annotations

from collections import defaultdict

import anthropic
import openai
from offline_provider import OfflineProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import genops
from genops import attributes as A

POLICY = {
    "version": 1,
    "defaults": {"enforcement": "BLOCKED"},
    "policies": [
        {
            "name": "approved-models",
            "type": "allowed_models",
            "models": ["gpt-4o-mini", "claude-3-5-haiku-*", "text-embedding-3-small"],
        },
        {
            "name": "no-pii",
            "type": "content",
            "detect": ["email", "credit_card", "ssn"],
            "action": "redact",
        },
        {"name": "per-call-cap", "type": "max_cost_per_call", "limit": 0.05},
        {
            "name": "research-agent-budget",
            "type": "budget",
            "limit": 0.002,
            "window": "daily",
            "per": "team",
            "scope": {"team": "research"},
            "alert_at": [0.5, 0.8, 1.0],
        },
    ],
}


def main() -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    genops.init(
        service_name="genops-demo",
        environment="production",
        team="support",
        project="helpdesk",
        policy=POLICY,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )  # instruments the installed OpenAI and Anthropic SDKs itself

    provider = OfflineProvider()
    oai = openai.OpenAI(
        api_key="offline",
        base_url="https://api.openai.com/v1",
        http_client=provider.client(),
    )
    claude = anthropic.Anthropic(
        api_key="offline",
        base_url="https://api.anthropic.com",
        http_client=provider.client2(),
    )

    print("1. Support answers tickets for two customers (attributed per customer)")
    for customer, ticket in [("acme", "Reset my password"), ("globex", "Invoice is wrong")] * 2:
        with genops.attribution(customer_id=customer, feature="auto-reply"):
            oai.chat.completions.create(
                model="gpt-4o-mini",
                max_tokens=64,
                messages=[{"role": "user", "content": f"Draft a reply: {ticket}"}],
            )

    print("2. A prompt with a customer's e-mail address is redacted before it leaves")
    oai.chat.completions.create(
        model="gpt-4o-mini",
        max_tokens=64,
        messages=[{"role": "user", "content": "Write to jane.doe@example.com about her refund"}],
    )
    sent = provider.last_body["messages"][0]["content"]
    print(f"   the provider received: {sent!r}")

    print("3. An unapproved model is blocked before any request is sent")
    before = provider.requests
    try:
        oai.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Summarise the quarter"}]
        )
    except genops.PolicyViolationError as err:
        print(
            f"   blocked: {err.reason_code} by {err.policy_name!r}; "
            f"requests sent: {provider.requests - before}"
        )

    print("4. A runaway research agent hits its daily budget wall")
    calls = 0
    with genops.attribution(team="research", project="market-scan"):
        try:
            for step in range(100):
                claude.messages.create(
                    model="claude-3-5-haiku-latest",
                    max_tokens=64,
                    messages=[{"role": "user", "content": f"Research step {step}: next lead?"}],
                )
                calls += 1
        except genops.PolicyViolationError as err:
            print(f"   stopped after {calls} calls: {err.reason_code} ({err.reason})")
    status = genops.budget_status("research-agent-budget", team="research")
    print(
        f"   budget: consumed ${status.consumed:.6f} of ${status.limit:.6f}, "
        f"remaining ${status.remaining:.6f}"
    )

    genops.shutdown()
    report(exporter)


def report(exporter: InMemorySpanExporter) -> None:
    """What a dashboard answers: spend by team and model, and every decision."""
    spend: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0, 0])
    decisions: dict[tuple[str, str], int] = defaultdict(int)
    alerts: list[str] = []
    for span in exporter.get_finished_spans():
        attrs = span.attributes or {}
        if A.POLICY_RESULT not in attrs:
            continue
        decisions[(str(attrs[A.POLICY_RESULT]), str(attrs.get(A.POLICY_REASON_CODE, "")))] += 1
        alerts.extend(
            f"{e.attributes[A.BUDGET_NAME]} crossed {e.attributes[A.BUDGET_THRESHOLD]:.0%}"
            for e in span.events
            if e.name == A.EVENT_BUDGET_ALERT
        )
        if A.ACCOUNTING_ACTUAL not in attrs:
            continue  # blocked before execution: nothing was spent
        key = (str(attrs[A.TEAM]), str(attrs.get(A.GEN_AI_REQUEST_MODEL, "-")))
        row = spend[key]
        row[0] += float(attrs.get(A.COST_TOTAL, 0.0))
        row[1] += int(attrs.get(A.GEN_AI_USAGE_INPUT_TOKENS, 0)) + int(
            attrs.get(A.GEN_AI_USAGE_OUTPUT_TOKENS, 0)
        )
        row[2] += 1
    print("\nSpend by team and model (from the exported spans)")
    print(f"   {'team':<10} {'model':<26} {'calls':>5} {'tokens':>7} {'cost USD':>11}")
    for (team, model), (cost, tokens, n) in sorted(spend.items()):
        print(f"   {team:<10} {model:<26} {n:>5} {tokens:>7} {cost:>11.6f}")
    print("\nPolicy decisions")
    for (result, code), n in sorted(decisions.items()):
        print(f"   {result:<9} {code or '-':<28} {n:>3}")
    print("\nBudget alerts (genops.budget.alert events)")
    for alert in alerts:
        print(f"   {alert}")


if __name__ == "__main__":
    main()
