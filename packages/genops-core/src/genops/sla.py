"""SLA boundaries on units (GenOps spec §6): which target applies, and whether it was met.

A unit's SLA, first found wins:

1. the unit's own: ``genops.governed(..., sla=genops.SLA("premium", latency_target_ms=2000))``;
2. the request's: ``with genops.sla_boundary(tier="premium", latency_target_ms=2000): ...``
   (a context variable like :func:`genops.attribution`: per task and thread, nestable);
3. the first ``type: sla`` policy whose scope matches the unit (see docs/policies.md).

A unit under an SLA that ran carries all four ``genops.sla.tier`` /
``latency_target_ms`` / ``actual_latency_ms`` / ``met`` (spec §6.3) plus
``genops.sla.source``; the latency is the unit's end-to-end time (start → finish,
a stream's last chunk included), rounded *up* to whole milliseconds, and ``met`` is
``actual_latency_ms <= latency_target_ms``. A miss adds a separate
``genops.policy.evaluated`` event — ``WARNING`` / ``SLA_LATENCY_VIOLATION`` — after
the reconciliation: the unit's own decision (``genops.policy.result``) stays what it
was before execution (spec §4.3); it is counted in ``genops.policy.decisions`` and
written to the audit trail. A unit blocked before execution carries none of them.
A unit without an SLA pays one context-variable read and one flag check while no
``sla`` rule exists in the process, else also one identity check of the engine's
policy set.
"""

from __future__ import annotations

import contextvars
import math
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genops import attributes as A
from genops._version import __version__
from genops.decision import DecisionResult, PolicyDecision, ReasonCode
from genops.policy.base import Enforcement, UnitRequest
from genops.policy.slo import SLA, SlaPolicy

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram

    from genops.lifecycle import GovernedUnit
    from genops.runtime import GenOps

__all__ = ["SLA", "Bound", "current_sla", "sla_boundary"]

#: the policy name on decisions of an SLA set by the unit or the request (not a rule)
SLA_POLICY_NAME = "genops.sla"

_current: contextvars.ContextVar[SLA | None] = contextvars.ContextVar("genops_sla", default=None)


@contextmanager
def sla_boundary(*, tier: str, latency_target_ms: int) -> Iterator[SLA]:
    """Put every unit started inside the block under this SLA (unless it has its own).

    ::

        with genops.sla_boundary(tier="premium", latency_target_ms=2000):
            answer = agent.run(question)   # every governed unit inside is measured
    """
    sla = SLA(tier, latency_target_ms)
    token = _current.set(sla)
    try:
        yield sla
    finally:
        _current.reset(token)


def current_sla() -> SLA | None:
    """The SLA set by the innermost :func:`sla_boundary` block, if any."""
    return _current.get()


@dataclass(frozen=True, slots=True)
class Bound:
    """The SLA a started unit is held to, and the rules its latency feeds."""

    sla: SLA
    source: str  #: "unit", "context" or "policy"
    policy: str
    #: (rule, request) pairs of BLOCKED-enforced rules in scope: their windows learn
    #: this unit's latency
    feeds: tuple[tuple[SlaPolicy, UnitRequest], ...] = ()


_NO_RULES: tuple[SlaPolicy, ...] = ()
_rules_cache: tuple[object, tuple[SlaPolicy, ...]] = (object(), _NO_RULES)


def _rules(engine: object) -> tuple[SlaPolicy, ...]:
    """The engine's SLA rules, recomputed only when its (immutable) policy tuple changes."""
    global _rules_cache
    policies = getattr(engine, "policies", None)
    key, rules = _rules_cache
    if policies is key:
        return rules
    if not isinstance(policies, tuple):
        return _NO_RULES
    rules = tuple(p for p in policies if isinstance(p, SlaPolicy))
    _rules_cache = (policies, rules)
    return rules


def resolve(own: SLA | None, engine: object, request: UnitRequest) -> Bound | None:
    """The SLA of a unit about to run (``None``: no SLA, nothing more to pay)."""
    context = _current.get()
    if own is None and context is None and not SlaPolicy.built:
        return None  # no SLA anywhere in this process: a context read and a flag
    rules = _rules(engine)
    if own is None and context is None and not rules:
        return None
    only = request.only_policies
    matched = [
        r
        for r in rules
        if r.enforcement is not Enforcement.OFF
        and (only is None or r.name in only)
        and r.scope.matches(request)
    ]
    feeds = tuple((r, request) for r in matched if r.enforcement is Enforcement.BLOCKED)
    if own is not None:
        return Bound(own, "unit", SLA_POLICY_NAME, feeds)
    if context is not None:
        return Bound(context, "context", SLA_POLICY_NAME, feeds)
    if matched:
        return Bound(matched[0].sla, "policy", matched[0].name, feeds)
    return None


class _Instruments:
    def __init__(self, runtime: GenOps) -> None:
        from genops.telemetry import SCHEMA_URL

        meter = runtime.meter_provider.get_meter("genops", __version__, schema_url=SCHEMA_URL)
        self.latency: Histogram = meter.create_histogram(
            A.METRIC_SLA_LATENCY,
            unit="s",
            description="End-to-end latency of units under an SLA, by tier.",
            explicit_bucket_boundaries_advisory=list(A.DURATION_BUCKETS),
        )
        self.units: Counter = meter.create_counter(
            A.METRIC_SLA_UNITS,
            unit="{unit}",
            description="Units under an SLA, by tier and whether the target was met.",
        )


_instruments: weakref.WeakKeyDictionary[GenOps, _Instruments] = weakref.WeakKeyDictionary()


def instruments(runtime: GenOps) -> _Instruments:
    found = _instruments.get(runtime)
    if found is None:
        found = _instruments.setdefault(runtime, _Instruments(runtime))
    return found


def record(unit: GovernedUnit, bound: Bound, duration_s: float) -> None:
    """The §6.3 attributes, the metrics, and on a miss the decision event (post-execution)."""
    from genops import _record

    sla = bound.sla
    actual_ms = max(math.ceil(duration_s * 1000), 0)
    met = actual_ms <= sla.latency_target_ms
    unit.span.set_attributes(
        {
            A.SLA_TIER: sla.tier,
            A.SLA_LATENCY_TARGET_MS: sla.latency_target_ms,
            A.SLA_ACTUAL_LATENCY_MS: actual_ms,
            A.SLA_MET: met,
            A.SLA_SOURCE: bound.source,
        }
    )
    for rule, request in bound.feeds:
        rule.observe(request, float(actual_ms))
    runtime = unit.runtime
    tier: dict[str, Any] = runtime.label_guard.apply({A.SLA_TIER: sla.tier})
    labels = {**_record.metric_labels(unit), **tier}  # (each label guarded once)
    ins = instruments(runtime)
    ins.latency.record(duration_s, labels)
    ins.units.add(1, {**labels, A.SLA_MET: "true" if met else "false"})
    if met:
        return
    decision = PolicyDecision(
        DecisionResult.WARNING,
        ReasonCode.SLA_LATENCY_VIOLATION,
        bound.policy,
        f"latency {actual_ms} ms over the {sla.tier} SLA target {sla.latency_target_ms} ms",
        int(time.time() * 1000),
    )
    post_execution_decision(unit, decision)


def post_execution_decision(unit: GovernedUnit, decision: PolicyDecision) -> None:
    """A decision made after the unit ran (spec §4.3: a separate event; the unit's own
    ``genops.policy.result`` is not changed): the event, the decisions counter, the audit."""
    from genops import _record

    unit.span.add_event(A.EVENT_POLICY_EVALUATED, _record.decision_event(decision))
    labels = _record.metric_labels(unit)
    unit.runtime.instruments.decisions.add(
        1,
        {
            **labels,
            A.POLICY_RESULT: decision.result.value,
            A.POLICY_REASON_CODE: decision.reason_code,
            A.POLICY_NAME: decision.policy_name or SLA_POLICY_NAME,
        },
    )
    audit = getattr(unit.admitted_by, "audit", None)
    if audit is None:
        return
    admission = unit.admission
    a = unit.attribution
    audit.record(
        [
            {
                "ts": time.time(),
                "trace_id": _record.hex_id(unit.span, trace=True),
                "span_id": _record.hex_id(unit.span, trace=False),
                "operation_name": unit.operation_name,
                "operation_type": unit.operation_type,
                "provider": unit.provider,
                "model": unit.model,
                **{field: getattr(a, field) for field in A.ATTRIBUTION_FIELDS},
                "policy": decision.policy_name,
                "result": decision.result.value,
                "reason_code": decision.reason_code,
                "reason": decision.reason,
                "unit_result": admission.decision.result.value if admission else None,
                "reserved": admission.reserved if admission else None,
                "unit": admission.unit if admission else None,
                "budget_name": None,
                "budget_remaining": None,
            }
        ]
    )
