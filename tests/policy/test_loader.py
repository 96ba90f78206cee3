"""Loading policy files: precise errors for malformed documents, fuzzed with hypothesis."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genops.policy import (
    AllowedModels,
    BudgetPolicy,
    ContentPolicy,
    Enforcement,
    PolicyConfigError,
    RateLimit,
)
from genops.policy.loader import build_engine, build_policy, load, load_data, parse_yaml
from genops.policy.schema import PolicyFileSpec

FULL = textwrap.dedent(
    """
    version: 1
    defaults: {enforcement: BLOCKED, timezone: Europe/Berlin, reservation_ttl: 5m}
    policies:
      - name: approved-models
        type: allowed_models
        models: ["gpt-4o-mini", "claude-*", "openai/gpt-4o"]
        scope: {environment: production}
      - name: support-monthly
        type: budget
        limit: 100.00
        window: monthly
        per: team
        scope: {team: support}
        alert_at: [0.5, 0.8, 1.0]
      - name: per-call-cap
        type: max_cost_per_call
        limit: 0.50
      - name: no-pii
        type: content
        detect: [email, credit_card, ssn, phone, ip_address, api_key]
        action: block
      - name: team-rate
        type: rate_limit
        requests: 60
        window: 1m
        per: team
      - name: max-output
        type: max_tokens
        limit: 4096
      - name: eu-only
        type: allowed_regions
        regions: [eu-west-1]
    """
)


def test_the_issue_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "genops-policy.yaml"
    path.write_text(FULL)
    config = load(path)
    names = [p.name for p in config.policies]
    assert names == ["approved-models", "support-monthly", "per-call-cap", "no-pii",
                     "team-rate", "max-output", "eu-only"]  # fmt: skip
    models, budget = config.policies[0], config.policies[1]
    assert isinstance(models, AllowedModels) and models.enforcement is Enforcement.BLOCKED
    assert isinstance(budget, BudgetPolicy)
    assert budget.limit == Decimal("100.0") and budget.per == ("team",)
    assert budget.alert_at == (0.5, 0.8, 1.0)
    assert str(budget.window.tz) == "Europe/Berlin"
    assert isinstance(config.policies[3], ContentPolicy)
    rate = config.policies[4]
    assert isinstance(rate, RateLimit) and rate.window.seconds == 60
    assert config.defaults.reservation_ttl == 300
    engine = build_engine(path)
    assert engine.reservation_ttl == 300
    assert [p.name for p in engine.policies][1:] == names


def test_dict_and_pydantic_model_inputs() -> None:
    data = yaml.safe_load(FULL)
    assert len(load(data).policies) == 7
    assert len(load(PolicyFileSpec.model_validate(data)).policies) == 7


def test_build_policy_is_the_register_policy_path() -> None:
    policy = build_policy({"name": "cap", "type": "max_tokens", "limit": 10,
                           "enforcement": "warning"})  # fmt: skip
    assert policy.enforcement is Enforcement.WARNING


def err(data: Any) -> PolicyConfigError:
    with pytest.raises(PolicyConfigError) as info:
        load_data(data, source="p.yaml")
    return info.value


def doc(*policies: Any, **top: Any) -> dict[str, Any]:
    return {"version": 1, "policies": list(policies), **top}


BUDGET = {"name": "b", "type": "budget", "limit": 10}


@pytest.mark.parametrize(
    ("data", "policy", "field", "words"),
    [
        # 1. empty file
        (None, None, None, ["empty", "version: 1"]),
        # 2. not a mapping
        (["a", "b"], None, None, ["must be a mapping"]),
        # 3. missing / wrong version
        ({"policies": []}, None, "version", ["required"]),
        ({"version": 2, "policies": []}, None, "version", ["1"]),
        # 4. unknown top-level key
        ({"version": 1, "polices": []}, None, "polices", ["unknown field"]),
        # 5. unknown policy type (never a silent ALLOWED)
        (doc({"name": "x", "type": "allow_everything"}), "policies[0] 'x'", "type",
         ["unknown policy type", "allowed_models", "budget", "rate_limit"]),
        # 6. missing type
        (doc({"name": "x"}), "policies[0] 'x'", "type", ["missing", "allowed_models"]),
        # 7. policy not a mapping
        (doc("just-a-string"), "policies[0]", None, ["must be a mapping"]),
        # 8. bad enforcement value
        (doc({**BUDGET, "enforcement": "STRICT"}), "policies[0] 'b' (budget)", "enforcement",
         ["BLOCKED", "WARNING", "OFF"]),
        # 9. bad window
        (doc({**BUDGET, "window": "fortnightly"}), "policies[0] 'b' (budget)", "window",
         ["daily", "weekly", "monthly", "total", "rolling:<duration>"]),
        # 10. negative / non-numeric limit
        (doc({**BUDGET, "limit": -5}), "policies[0] 'b' (budget)", "limit", ["positive"]),
        (doc({**BUDGET, "limit": "lots"}), "policies[0] 'b' (budget)", "limit", ["positive"]),
        (doc({**BUDGET, "limit": True}), "policies[0] 'b' (budget)", "limit", ["positive"]),
        # 11. unknown field in a policy (typo)
        (doc({**BUDGET, "windw": "daily"}), "policies[0] 'b' (budget)", "windw",
         ["unknown field"]),
        # 12. unknown detector
        (doc({"name": "c", "type": "content", "detect": ["email", "dna"]}),
         "policies[0] 'c' (content)", "detect[1]", ["api_key", "credit_card"]),
        # 13. bad content action
        (doc({"name": "c", "type": "content", "detect": ["email"], "action": "shred"}),
         "policies[0] 'c' (content)", "action", ["block", "redact", "warn"]),
        # 14. duplicate names
        (doc(BUDGET, {**BUDGET, "limit": 5}), "policies[1] 'b'", "name", ["duplicate"]),
        # 15. bad per field
        (doc({**BUDGET, "per": ["team", "shoe_size"]}), "policies[0] 'b' (budget)", "per",
         ["shoe_size", "customer_id"]),
        # 16. bad scope field
        (doc({**BUDGET, "scope": {"planet": "mars"}}), "policies[0] 'b' (budget)", "scope",
         ["planet", "environment"]),
        # 17. bad timezone
        (doc({**BUDGET, "timezone": "Mars/Olympus"}), "policies[0] 'b' (budget)", "timezone",
         ["IANA"]),
        # 18. bad rate-limit duration and requests
        (doc({"name": "r", "type": "rate_limit", "requests": 5, "window": "soon"}),
         "policies[0] 'r' (rate_limit)", "window", ["30s"]),
        (doc({"name": "r", "type": "rate_limit", "requests": 0}),
         "policies[0] 'r' (rate_limit)", "requests", ["positive integer"]),
        # 19. empty models list
        (doc({"name": "m", "type": "allowed_models", "models": []}),
         "policies[0] 'm' (allowed_models)", "models", ["at least 1"]),
        # 20. bad on_ledger_error / unit / alert_at / defaults
        (doc({**BUDGET, "on_ledger_error": "retry"}), "policies[0] 'b' (budget)",
         "on_ledger_error", ["fail_open", "fail_closed"]),
        (doc({**BUDGET, "unit": "EUR"}), "policies[0] 'b' (budget)", "unit", ["USD", "tokens"]),
        (doc({**BUDGET, "unit": "tokens", "limit": 10.5}), "policies[0] 'b' (budget)", None,
         ["whole-number"]),
        (doc({**BUDGET, "limit": 1e7}), "policies[0] 'b' (budget)", None,
         ["above the largest budget", "9007199.254740991 USD"]),
        (doc({**BUDGET, "alert_at": [0.5, -1]}), "policies[0] 'b' (budget)", "alert_at[1]",
         ["greater than 0"]),
        (doc(defaults={"on_unknown_price": "guess"}), None, "defaults.on_unknown_price",
         ["warn", "block", "allow"]),
        (doc(audit={"sink": "s3://bucket"}), None, "audit.sink", ["jsonl:///", "sqlite:///"]),
        # 21. max_tokens without a limit
        (doc({"name": "t", "type": "max_tokens"}), "policies[0] 't' (max_tokens)", None,
         ["limit"]),
    ],
)  # fmt: skip
def test_malformed_documents_name_source_policy_field_and_allowed_values(
    data: Any, policy: str | None, field: str | None, words: list[str]
) -> None:
    e = err(data)
    assert e.source == "p.yaml"
    assert str(e).startswith("p.yaml: ")
    assert e.policy == policy
    if field is not None:
        assert e.field == field
        assert f"field {field!r}" in str(e)
    for word in words:
        assert word in str(e), (word, str(e))


def test_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\npolicies:\n  - name: [unclosed\n")
    with pytest.raises(PolicyConfigError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: invalid YAML at line")


def test_missing_file() -> None:
    with pytest.raises(PolicyConfigError, match="policy file not found"):
        load("/nonexistent/genops-policy.yaml")


def test_policy_config_error_is_a_value_error() -> None:
    assert issubclass(PolicyConfigError, ValueError)


# ------------------------------------------------------------------ fuzzing
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["BLOCKED", "warning", "monthly", "rolling:1h", "rolling:", "team", "USD",
                     "tokens", "1m", "-1", "NaN", "Infinity", "1e400", "email", "redact"]),
)  # fmt: skip
KEYS = ["name", "type", "limit", "window", "per", "scope", "models", "regions", "detect",
        "action", "requests", "enforcement", "alert_at", "unit", "timezone",
        "on_ledger_error", "on_unknown_price", "input_limit", "replacement", "x"]  # fmt: skip
TYPES = ["allowed_models", "allowed_regions", "budget", "content", "max_cost_per_call",
         "max_tokens", "rate_limit", "nope"]  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from([*KEYS, "team", "environment"]), inner, max_size=4),
    ),
    max_leaves=10,
)
policies = st.fixed_dictionaries(
    {"name": st.one_of(st.text(max_size=8), scalars), "type": st.sampled_from(TYPES)},
    optional={k: values for k in KEYS if k not in ("name", "type")},
)
documents = st.one_of(
    values,
    st.fixed_dictionaries(
        {"version": st.one_of(st.just(1), scalars), "policies": st.lists(policies, max_size=4)},
        optional={"defaults": values, "ledger": values, "audit": values, "extra": values},
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_fuzzed_documents_only_raise_policy_config_error(data: Any) -> None:
    try:
        config = load_data(data)
    except PolicyConfigError as exc:
        message = str(exc)
        config = None
    if config is None:
        assert message.startswith("<dict>")
    else:
        assert all(isinstance(p.name, str) and p.name for p in config.policies)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzzed_yaml_text_only_raises_policy_config_error(text: str) -> None:
    try:
        load_data(parse_yaml(text, source="fuzz.yaml"), source="fuzz.yaml")
    except PolicyConfigError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_files_only_raise_policy_config_error(tmp_path_factory: Any, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    path.write_bytes(raw)
    try:
        load(path)
    except PolicyConfigError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies)
def test_fuzzed_register_policy_specs_only_raise_policy_config_error(spec: Any) -> None:
    try:
        policy = build_policy(spec)
    except PolicyConfigError as exc:
        assert str(exc).startswith("<register_policy>")  # noqa: PT017
    else:
        assert policy.name == spec["name"]
