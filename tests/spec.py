"""A GenOps v0.1 conformance check on exported spans (spec §9.1, verifiable from telemetry).

``assert_compliant(span)`` checks one AI Workload Unit span: required attributes with
meaningful values, decision states and reason codes from the taxonomy, the required
events at their lifecycle points (§7.2, §7.2.1), and the SLA boundary attributes
(§6.3: all four or none, ``met`` consistent) whenever they appear.
``assert_optional_schemas(span)`` checks the optional events of §8.4
(``genops.cost.calculated``, ``genops.budget.alert``, ``genops.evaluation.complete``) and
the OTel ``gen_ai.evaluation.result`` event on any span that carries them.
"""

from __future__ import annotations

import re

from opentelemetry.sdk.trace import ReadableSpan

from genops import attributes as A

RESULTS = {"ALLOWED", "BLOCKED", "WARNING", "RATE_LIMITED"}
CODES = {
    "BUDGET_EXCEEDED",
    "BUDGET_RESERVATION_FAILED",
    "POLICY_DENY_MODEL",
    "POLICY_DENY_REGION",
    "POLICY_DENY_CONTENT",
    "RATE_LIMITED",
    "SLA_LATENCY_VIOLATION",
    "PROVIDER_ERROR_UPSTREAM",
    "ACCOUNTING_INVARIANT_VIOLATION",
}
_EXT = re.compile(r"^x_[a-z0-9_]+$")


def _valid_code(code: object) -> bool:
    return isinstance(code, str) and (code in CODES or bool(_EXT.fullmatch(code)))


def _check_decision(attrs: dict[str, object], where: str) -> None:
    result = attrs.get(A.POLICY_RESULT)
    assert result in RESULTS, f"{where}: bad genops.policy.result {result!r}"
    if result == "ALLOWED":
        assert A.POLICY_REASON_CODE not in attrs, f"{where}: reason_code set on ALLOWED"
    else:
        assert _valid_code(attrs.get(A.POLICY_REASON_CODE)), f"{where}: bad reason_code"


SLA_KEYS = (A.SLA_TIER, A.SLA_LATENCY_TARGET_MS, A.SLA_ACTUAL_LATENCY_MS, A.SLA_MET)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_sla(span: ReadableSpan, attrs: dict[str, object], name: str) -> None:
    present = [k for k in SLA_KEYS if k in attrs]
    post = _post_execution_decisions(span)
    sla_violations = [e for e in post if e.get(A.POLICY_REASON_CODE) == "SLA_LATENCY_VIOLATION"]
    if not present:
        assert not sla_violations, f"{name}: SLA violation event without the SLA attributes"
        return
    assert len(present) == len(SLA_KEYS), f"{name}: SLA attributes {present}: all four or none"
    tier, target = attrs[A.SLA_TIER], attrs[A.SLA_LATENCY_TARGET_MS]
    actual, met = attrs[A.SLA_ACTUAL_LATENCY_MS], attrs[A.SLA_MET]
    assert isinstance(tier, str) and tier.strip(), f"{name}: genops.sla.tier"
    assert _is_int(target) and target > 0, f"{name}: genops.sla.latency_target_ms {target!r}"  # type: ignore[operator]
    assert _is_int(actual) and actual >= 0, f"{name}: genops.sla.actual_latency_ms {actual!r}"  # type: ignore[operator]
    assert isinstance(met, bool), f"{name}: genops.sla.met must be a boolean"
    assert met == (actual <= target), f"{name}: genops.sla.met {met} for {actual} <= {target}"  # type: ignore[operator]
    if sla_violations:
        assert met is False, f"{name}: SLA_LATENCY_VIOLATION on a unit that met its SLA"


def _post_execution_decisions(span: ReadableSpan) -> list[dict[str, object]]:
    """``genops.policy.evaluated`` events after the reconciliation (separate decisions)."""
    names = [e.name for e in span.events]
    if A.EVENT_BUDGET_RECONCILIATION not in names:
        return []
    after = names.index(A.EVENT_BUDGET_RECONCILIATION)
    return [
        dict(e.attributes or {}) for e in span.events[after:] if e.name == A.EVENT_POLICY_EVALUATED
    ]


def _str(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def assert_optional_schemas(span: ReadableSpan) -> None:
    """Fail unless every optional GenOps event (§8.4) and ``gen_ai.evaluation.result`` on
    ``span`` has its required attributes with the right types."""
    name = f"span {span.name!r}"
    for e in span.events:
        ea = dict(e.attributes or {})
        where = f"{name} event {e.name}"
        if e.name == A.EVENT_COST_CALCULATED:
            assert isinstance(ea.get(A.COST_TOTAL), float), f"{where}: genops.cost.total"
            currency = ea.get(A.COST_CURRENCY)
            assert isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency), where
        elif e.name == A.EVENT_BUDGET_ALERT:
            assert _str(ea.get(A.BUDGET_NAME)), f"{where}: genops.budget.name"
            for key in (A.BUDGET_CONSUMED, A.BUDGET_ALLOCATED):
                assert isinstance(ea.get(key), float), f"{where}: {key} must be a double"
        elif e.name == A.EVENT_EVALUATION_COMPLETE:
            assert _str(ea.get(A.EVAL_METRIC)), f"{where}: genops.eval.metric"
            assert isinstance(ea.get(A.EVAL_SCORE), float), f"{where}: genops.eval.score double"
            if A.EVAL_THRESHOLD in ea:
                assert isinstance(ea[A.EVAL_THRESHOLD], float), f"{where}: genops.eval.threshold"
            if A.EVAL_PASSED in ea:
                assert isinstance(ea[A.EVAL_PASSED], bool), f"{where}: genops.eval.passed"
        elif e.name == A.EVENT_GEN_AI_EVALUATION_RESULT:
            assert _str(ea.get(A.GEN_AI_EVALUATION_NAME)), f"{where}: gen_ai.evaluation.name"
            if A.GEN_AI_EVALUATION_SCORE_VALUE in ea:
                assert isinstance(ea[A.GEN_AI_EVALUATION_SCORE_VALUE], float), where
            for key in (
                A.GEN_AI_EVALUATION_SCORE_LABEL,
                A.GEN_AI_EVALUATION_EXPLANATION,
                A.GEN_AI_RESPONSE_ID,
            ):
                if key in ea:
                    assert _str(ea[key]), f"{where}: {key} must be a non-empty string"


def assert_compliant(span: ReadableSpan) -> None:
    """Fail with a precise message unless ``span`` is a compliant GenOps v0.1 AWU span."""
    attrs = dict(span.attributes or {})
    name = f"span {span.name!r}"
    for key in (A.TEAM, A.PROJECT, A.ENVIRONMENT, A.OPERATION_NAME, A.OPERATION_TYPE):
        value = attrs.get(key)
        assert isinstance(value, str) and value.strip(), f"{name}: {key} missing or empty"
    assert attrs.get(A.SPEC_VERSION) == "0.1.0", f"{name}: genops.spec.version"
    _check_decision(attrs, name)
    _check_sla(span, attrs, name)
    events = [e.name for e in span.events]
    evaluated = [e for e in span.events if e.name == A.EVENT_POLICY_EVALUATED]
    assert evaluated, f"{name}: no genops.policy.evaluated event"
    for e in evaluated:
        _check_decision(dict(e.attributes or {}), f"{name} event")
    reserved = A.EVENT_BUDGET_RESERVATION in events
    reconciled = A.EVENT_BUDGET_RECONCILIATION in events
    if attrs[A.POLICY_RESULT] in ("BLOCKED", "RATE_LIMITED"):
        assert not reconciled, f"{name}: a non-executing unit emitted a reconciliation"
        return
    assert reserved, f"{name}: no genops.budget.reservation event"
    assert reconciled, f"{name}: no genops.budget.reconciliation event"
    assert events.index(A.EVENT_BUDGET_RESERVATION) < events.index(A.EVENT_BUDGET_RECONCILIATION)
    assert max(events.index(n) for n in (A.EVENT_POLICY_EVALUATED,)) < events.index(
        A.EVENT_BUDGET_RESERVATION
    ), f"{name}: reservation before the policy decision"
    for key in (A.ACCOUNTING_RESERVED, A.ACCOUNTING_ACTUAL):
        assert isinstance(attrs.get(key), float), f"{name}: {key} must be a double"
    unit = attrs.get(A.ACCOUNTING_UNIT)
    assert isinstance(unit, str) and unit, f"{name}: genops.accounting.unit"
    for e in span.events:
        ea = dict(e.attributes or {})
        if e.name == A.EVENT_BUDGET_RESERVATION:
            assert isinstance(ea.get(A.ACCOUNTING_RESERVED), float) and ea.get(A.ACCOUNTING_UNIT)
        if e.name == A.EVENT_BUDGET_RECONCILIATION:
            for key in (A.ACCOUNTING_RESERVED, A.ACCOUNTING_ACTUAL):
                assert isinstance(ea.get(key), float), f"{name}: reconciliation {key}"
            assert ea.get(A.ACCOUNTING_UNIT)
