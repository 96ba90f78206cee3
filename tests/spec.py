"""A GenOps v0.1 conformance check on exported spans (spec §9.1, verifiable from telemetry).

``assert_compliant(span)`` checks one AI Workload Unit span: required attributes with
meaningful values, decision states and reason codes from the taxonomy, and the
required events at their lifecycle points (§7.2, §7.2.1).
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


def assert_compliant(span: ReadableSpan) -> None:
    """Fail with a precise message unless ``span`` is a compliant GenOps v0.1 AWU span."""
    attrs = dict(span.attributes or {})
    name = f"span {span.name!r}"
    for key in (A.TEAM, A.PROJECT, A.ENVIRONMENT, A.OPERATION_NAME, A.OPERATION_TYPE):
        value = attrs.get(key)
        assert isinstance(value, str) and value.strip(), f"{name}: {key} missing or empty"
    assert attrs.get(A.SPEC_VERSION) == "0.1.0", f"{name}: genops.spec.version"
    _check_decision(attrs, name)
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
