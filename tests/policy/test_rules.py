"""Every policy type deciding through the real lifecycle, in BLOCKED and WARNING modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import genops
from genops import attributes as A
from tests.conftest import Telemetry

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]


def doc(*policies: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"version": 1, "policies": list(policies), **extra}


def run(
    model: str | None = "acme-large",
    *,
    provider: str = "openai",
    input_tokens: int = 100,
    max_output_tokens: int = 100,
    texts: tuple[str, ...] = (),
    region: str | None = None,
    body: list[str] | None = None,
) -> genops.GovernedUnit:
    request = genops.RequestEstimate(
        input_tokens=input_tokens, max_output_tokens=max_output_tokens, texts=texts
    )
    with genops.governed(
        "reply", provider=provider, model=model, request=request, region=region
    ) as unit:
        if body is not None:
            body.append("ran")
        if model:
            unit.record_usage(input_tokens=10, output_tokens=10)
    return unit


def outcome(telemetry: Telemetry) -> tuple[str, str | None, str | None]:
    attrs = dict(telemetry.spans()[-1].attributes or {})
    return attrs[A.POLICY_RESULT], attrs.get(A.POLICY_REASON_CODE), attrs.get(A.POLICY_NAME)


def evaluated(telemetry: Telemetry) -> list[tuple[Any, ...]]:
    """(policy, result, reason code) per evaluated policy, read off the last span: the
    policies named in ``genops.policy.evaluated_names``, each with its decision event
    when it objected — ALLOWED otherwise (a unit nobody objected to has one ALLOWED event)."""
    span = telemetry.spans()[-1]
    events = [dict(e.attributes or {}) for e in span.events if e.name == A.EVENT_POLICY_EVALUATED]
    objections = {e[A.POLICY_NAME]: e for e in events if e[A.POLICY_RESULT] != "ALLOWED"}
    if not objections:
        assert events == [{A.POLICY_RESULT: "ALLOWED"}]
    names = (span.attributes or {}).get(A.POLICY_EVALUATED_NAMES, ())
    assert set(objections) <= set(names)  # type: ignore[arg-type]
    return [
        (name, objections[name][A.POLICY_RESULT], objections[name][A.POLICY_REASON_CODE])
        if name in objections
        else (name, "ALLOWED", None)
        for name in names  # type: ignore[union-attr]
    ]


# (policy spec, violating call kwargs, complying call kwargs, reason code, blocked result)
CASES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], str, str]] = [
    (
        {"type": "allowed_models", "models": ["acme-small", "anthropic/acme-*"]},
        {"model": "acme-large"},
        {"model": "acme-small"},
        "POLICY_DENY_MODEL",
        "BLOCKED",
    ),
    (
        {"type": "max_cost_per_call", "limit": 0.15},
        {"max_output_tokens": 100},  # reserves 0.20
        {"max_output_tokens": 40},  # 0.14
        "x_cost_cap_exceeded",
        "BLOCKED",
    ),
    (
        {"type": "max_tokens", "limit": 256},
        {"max_output_tokens": 1000},
        {"max_output_tokens": 256},
        "x_max_tokens_exceeded",
        "BLOCKED",
    ),
    (
        {"type": "allowed_regions", "regions": ["eu-*"]},
        {"region": "us-east-1"},
        {"region": "eu-west-1"},
        "POLICY_DENY_REGION",
        "BLOCKED",
    ),
    (
        {"type": "content", "detect": ["email", "credit_card"], "action": "block"},
        {"texts": ("reach me at jane.doe@example.com",)},
        {"texts": ("no personal data here",)},
        "POLICY_DENY_CONTENT",
        "BLOCKED",
    ),
    (
        {"type": "rate_limit", "requests": 2, "window": "1m", "per": "team"},
        {},  # the third call in a minute
        {},
        "RATE_LIMITED",
        "RATE_LIMITED",
    ),
    (
        {"type": "budget", "limit": 0.23, "window": "daily"},
        {},  # two units consumed 0.04 (0.02 each); the third reserves 0.20 > 0.19 left
        {},
        "BUDGET_RESERVATION_FAILED",
        "BLOCKED",
    ),
]
IDS = [c[0]["type"] for c in CASES]
STATEFUL = {"rate_limit", "budget"}


@pytest.mark.parametrize(("spec", "bad", "good", "code", "blocked"), CASES, ids=IDS)
def test_blocked_mode_stops_before_the_body(
    make_genops: Callable[..., genops.GenOps],
    telemetry: Telemetry,
    spec: dict[str, Any],
    bad: dict[str, Any],
    good: dict[str, Any],
    code: str,
    blocked: str,
) -> None:
    name = f"rule-{spec['type']}"
    make_genops(policy=doc({"name": name, **spec}), prices=PRICES)
    run(**good)
    assert outcome(telemetry) == ("ALLOWED", None, None)
    assert evaluated(telemetry) == [(name, "ALLOWED", None)]
    if spec["type"] in STATEFUL:
        run(**good)
    body: list[str] = []
    with pytest.raises(genops.PolicyViolationError) as err:
        run(**bad, body=body)
    assert body == []
    assert err.value.reason_code == code
    assert err.value.result.value == blocked
    assert outcome(telemetry) == (blocked, code, name)
    assert evaluated(telemetry) == [(name, blocked, code)]
    span = telemetry.spans()[-1]
    assert span.status.status_code.name == "ERROR"
    assert str(dict(span.attributes or {})[A.ERROR_TYPE]).endswith("PolicyViolationError")


@pytest.mark.parametrize(("spec", "bad", "good", "code", "blocked"), CASES, ids=IDS)
def test_warning_mode_records_and_runs(
    make_genops: Callable[..., genops.GenOps],
    telemetry: Telemetry,
    spec: dict[str, Any],
    bad: dict[str, Any],
    good: dict[str, Any],
    code: str,
    blocked: str,
) -> None:
    name = f"rule-{spec['type']}"
    make_genops(policy=doc({"name": name, "enforcement": "warning", **spec}), prices=PRICES)
    run(**good)
    if spec["type"] in STATEFUL:
        run(**good)
    body: list[str] = []
    run(**bad, body=body)
    assert body == ["ran"]
    assert outcome(telemetry) == (
        "WARNING",
        code if spec["type"] != "budget" else "BUDGET_EXCEEDED",
        name,
    )


def test_off_mode_is_not_evaluated(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        policy=doc({"name": "m", "type": "allowed_models", "models": ["x"], "enforcement": "OFF"})
    )
    run()
    assert evaluated(telemetry) == []  # one ALLOWED event, no policy named


def test_defaults_enforcement_applies_and_policy_overrides(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        policy=doc(
            {"name": "models", "type": "allowed_models", "models": ["acme-small"]},
            {"name": "tokens", "type": "max_tokens", "limit": 10, "enforcement": "BLOCKED"},
            defaults={"enforcement": "WARNING"},
        ),
        prices=PRICES,
    )
    run(max_output_tokens=10)
    assert outcome(telemetry) == ("WARNING", "POLICY_DENY_MODEL", "models")
    with pytest.raises(genops.PolicyViolationError):
        run(max_output_tokens=11)


def test_most_severe_wins_and_every_policy_is_named(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        policy=doc(
            {"name": "models", "type": "allowed_models", "models": ["acme-*"]},
            {"name": "pii", "type": "content", "detect": ["ssn"], "action": "warn"},
            {"name": "tokens", "type": "max_tokens", "limit": 50},
            {"name": "rate", "type": "rate_limit", "requests": 100, "window": "1m"},
        ),
        prices=PRICES,
    )
    with pytest.raises(genops.PolicyViolationError) as err:
        run(texts=("ssn 123-45-6789",), max_output_tokens=60)
    assert err.value.policy_name == "tokens"
    # the stateless rules decided; the rate limit was never charged for a blocked unit
    assert evaluated(telemetry) == [
        ("models", "ALLOWED", None),
        ("pii", "WARNING", "POLICY_DENY_CONTENT"),
        ("tokens", "BLOCKED", "x_max_tokens_exceeded"),
    ]
    attrs = dict(telemetry.spans()[-1].attributes or {})
    assert attrs[A.POLICY_EVALUATED_COUNT] == 3
    run(max_output_tokens=50)  # no texts: the content rule does not apply
    assert evaluated(telemetry) == [
        ("models", "ALLOWED", None),
        ("tokens", "ALLOWED", None),
        ("rate", "ALLOWED", None),
    ]


def test_scope_selects_on_attribution_and_model(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        policy=doc(
            {
                "name": "prod-models",
                "type": "allowed_models",
                "models": ["acme-small"],
                "scope": {"environment": "production", "team": ["support", "sales-*"]},
            },
        ),
        prices=PRICES,
    )
    run()  # environment is "development": out of scope
    with (
        genops.attribution(environment="production", team="sales-emea"),
        pytest.raises(genops.PolicyViolationError),
    ):
        run()
    with genops.attribution(environment="production", team="platform"):
        run()


def test_provider_qualified_model_names(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(policy=doc({"name": "m", "type": "allowed_models", "models": ["openai/acme-*"]}))
    run(provider="openai")
    with pytest.raises(genops.PolicyViolationError):
        run(provider="azure.ai.openai")


def test_unknown_price_in_cost_cap(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        policy=doc({"name": "cap", "type": "max_cost_per_call", "limit": 1,
                    "on_unknown_price": "block"})
    )  # fmt: skip
    with pytest.raises(genops.PolicyViolationError) as err:
        run(model="no-such-model-xyz")
    assert err.value.reason_code == "x_price_unknown"


def test_region_unknown_blocks_only_when_asked(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        policy=doc(
            {"name": "eu", "type": "allowed_regions", "regions": ["eu-west-1"]},
            {"name": "eu-strict", "type": "allowed_regions", "regions": ["eu-west-1"],
             "on_unknown_region": "block", "scope": {"team": "finance"}},
        )
    )  # fmt: skip
    run()
    with genops.attribution(team="finance"), pytest.raises(genops.PolicyViolationError):
        run()


def test_register_policy_builds_file_types_with_enforcement_strings(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(prices=PRICES)
    genops.register_policy("approved", type="allowed_models", models=["acme-small"],
                           enforcement="WARNING")  # fmt: skip
    run()
    assert outcome(telemetry) == ("WARNING", "POLICY_DENY_MODEL", "approved")
    genops.register_policy(
        "approved", type="allowed_models", models=["acme-small"], enforcement="BLOCKED",
        replace=True,
    )  # fmt: skip
    with pytest.raises(genops.PolicyViolationError):
        run()
    with pytest.raises(genops.PolicyConfigError, match="field 'models'"):
        genops.register_policy("bad", type="allowed_models", models=[])


def test_enforce_policy_decorator_evaluates_only_named_policies(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        policy=doc(
            {"name": "models", "type": "allowed_models", "models": ["acme-small"]},
            {"name": "tokens", "type": "max_tokens", "limit": 10},
        )
    )
    calls: list[str] = []

    @genops.enforce_policy("tokens", model="acme-large")
    def draft() -> str:
        calls.append("draft")
        return "ok"

    with pytest.raises(genops.PolicyViolationError) as err:
        draft()
    assert err.value.policy_name == "tokens"  # max_output defaults to 4096 > 10
    assert calls == []


def test_register_policy_inherits_the_documents_defaults(
    make_genops: Callable[..., genops.GenOps],
) -> None:
    make_genops(
        policy=doc(defaults={"timezone": "Asia/Tokyo", "on_ledger_error": "fail_closed"}),
        prices=PRICES,
    )
    budget = genops.register_policy("daily", type="budget", limit=1, window="daily")
    assert str(budget.window.tz) == "Asia/Tokyo"  # type: ignore[attr-defined]
    assert budget.on_ledger_error == "fail_closed"  # type: ignore[attr-defined]
