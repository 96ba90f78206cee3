"""A known governed workload that serves its metrics for Prometheus to scrape.

    python -m tests.deploy.workload PORT

Phase A runs a zero-token call for every (team, model) the test later spends on, one
blocked call and one unknown-price call, then prints ``phase-a done`` and waits for a
line on stdin. Phase B spends the amounts in :data:`EXPECTED_BY_TEAM` /
:data:`EXPECTED_BY_MODEL`, prints ``phase-b done`` and serves until stdin closes.
Prices are overrides, so every amount is exact. Every call runs under its team's SLA
(:data:`SLA_TIERS`: search always meets "interactive", support always misses the 1 ms
"realtime") and gets a faithfulness evaluation (search passes, support fails).
"""

from __future__ import annotations

import sys
import time

import genops

PRICES = [
    {"provider": "openai", "model": "acme-large", "input": 2000, "output": 8000},  # $/1M tokens
    {"provider": "openai", "model": "acme-small", "input": 500, "output": 1000},
]
POLICY = {
    "version": 1,
    "defaults": {"on_unknown_price": "allow"},
    "policies": [
        {"name": "approved-models", "type": "allowed_models", "models": ["acme-*", "mystery-*"]},
        {"name": "team-daily", "type": "budget", "limit": 2.40, "window": "daily", "per": "team"},
    ],
}
TEAMS = {"search": "web", "support": "helpdesk"}
#: phase B calls: (team, model, count); each call is 100 input + 50 output tokens
CALLS = [("search", "acme-large", 3), ("search", "acme-small", 2), ("support", "acme-large", 1),
         ("support", "acme-small", 1)]  # fmt: skip
COST_PER_CALL = {"acme-large": 100 * 0.002 + 50 * 0.008, "acme-small": 100 * 0.0005 + 50 * 0.001}
EXPECTED_BY_TEAM = {"search": 2.00, "support": 0.70}
EXPECTED_BY_MODEL = {"acme-large": 2.40, "acme-small": 0.30}
REQUEST = genops.RequestEstimate(input_tokens=100, max_output_tokens=50)
#: team → (SLA tier, latency target ms): no call takes 10 minutes, every support call
#: sleeps past 1 ms
SLA_TIERS = {"search": ("interactive", 600_000), "support": ("realtime", 1)}


def call(team: str, model: str, input_tokens: int, output_tokens: int) -> None:
    tier, target = SLA_TIERS[team]
    with (
        genops.attribution(team=team, project=TEAMS[team]),
        genops.sla_boundary(tier=tier, latency_target_ms=target),
    ):
        with genops.governed("answer", provider="openai", model=model, request=REQUEST) as unit:
            unit.record_first_chunk()
            if target == 1:
                time.sleep(0.005)
            unit.record_usage(input_tokens=input_tokens, output_tokens=output_tokens)
    passed = team == "search"
    genops.record_evaluation("faithfulness", float(passed), passed=passed, unit=unit)


def blocked(team: str) -> None:
    try:
        call(team, "gpt-4o", 100, 50)
    except genops.PolicyViolationError:
        return
    raise AssertionError("gpt-4o should be blocked by approved-models")


def unknown_price() -> None:
    with genops.attribution(team="support", project="helpdesk"):
        with genops.governed("classify", provider="acme-local", model="mystery-model") as unit:
            unit.record_usage(input_tokens=10, output_tokens=5)


def main(port: int) -> None:
    genops.init(
        service_name="workload",
        environment="production",
        policy=POLICY,
        prices=PRICES,
        metrics_exporter="prometheus",
        prometheus_host="127.0.0.1",
        prometheus_port=port,
        instrument=False,
    )
    for team, model, _ in CALLS:
        call(team, model, 0, 0)  # known $0: the series exist before the spend
    blocked("search")
    unknown_price()
    sys.stdout.write("phase-a done\n")
    sys.stdout.flush()
    sys.stdin.readline()
    for team, model, count in CALLS:
        for _ in range(count):
            call(team, model, 100, 50)
    blocked("search")
    unknown_price()
    sys.stdout.write("phase-b done\n")
    sys.stdout.flush()
    sys.stdin.read()  # serve /metrics until the test closes stdin
    genops.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]))
