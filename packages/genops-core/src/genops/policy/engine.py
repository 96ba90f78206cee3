"""The policy engine the lifecycle calls: evaluate rules, then reserve budget.

    engine = Engine()
    engine.add(CallablePolicy("no-gpt4-in-dev", lambda r: r.model != "gpt-4", "POLICY_DENY_MODEL"))
    admission = engine.admit(request)   # most severe decision wins

Policies are evaluated in registration order on an immutable snapshot, so adding
one while units run is safe. A policy whose ``evaluate`` raises is an internal
error: it is logged and counted, and the policy is treated as not applicable
(fail-open) — a bug in a rule must not take the app down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from decimal import Decimal

from genops import _safety
from genops.decision import (
    X_ATTRIBUTION_MISSING,
    X_CUSTOM_POLICY,
    DecisionResult,
    PolicyDecision,
    most_severe,
)
from genops.policy.base import (
    Admission,
    Enforcement,
    Policy,
    Settlement,
    UnitRequest,
)
from genops.usage import Usage

#: Name of the built-in rule that flags units without team or project.
ATTRIBUTION_POLICY = "genops.attribution-required"


def apply_enforcement(decision: PolicyDecision, enforcement: Enforcement) -> PolicyDecision:
    """Downgrade a violation to WARNING under WARNING enforcement."""
    if decision.proceeds or enforcement is not Enforcement.WARNING:
        return decision
    return PolicyDecision(
        DecisionResult.WARNING,
        decision.reason_code,
        decision.policy_name,
        decision.reason,
        decision.timestamp_ms,
    )


class AttributionRequired:
    """Built-in: a unit without ``team`` or ``project`` gets ``x_attribution_missing``.

    Default enforcement is WARNING: the unit runs and is attributed to
    ``"unattributed"``, and the gap is visible on the span and in metrics.
    """

    name = ATTRIBUTION_POLICY

    def __init__(self, enforcement: Enforcement = Enforcement.WARNING) -> None:
        self.enforcement = enforcement

    def evaluate(self, request: UnitRequest) -> PolicyDecision | None:
        missing = [f for f in ("team", "project") if getattr(request.attribution, f) is None]
        if not missing:
            return None
        return PolicyDecision(
            DecisionResult.BLOCKED,
            X_ATTRIBUTION_MISSING,
            self.name,
            f"no {' or '.join(missing)} attribution (set genops.init(team=, project=), "
            "GENOPS_TEAM/GENOPS_PROJECT or genops.attribution())",
        )


class CallablePolicy:
    """A policy written as a function: ``check(request)`` returns True to allow.

    The function may also return a :class:`PolicyDecision` (used as is) or ``None``
    (not applicable).
    """

    def __init__(
        self,
        name: str,
        check: Callable[[UnitRequest], bool | PolicyDecision | None],
        reason_code: str = X_CUSTOM_POLICY,
        *,
        enforcement: Enforcement | str = Enforcement.BLOCKED,
        reason: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty string")
        if not callable(check):
            raise TypeError("check must be callable")
        # validates the code now, not on the first violation
        PolicyDecision(DecisionResult.BLOCKED, reason_code)
        self.name = name
        self.check = check
        self.reason_code = reason_code
        self.reason = reason
        self.enforcement = Enforcement.parse(enforcement)

    def evaluate(self, request: UnitRequest) -> PolicyDecision | None:
        verdict = self.check(request)
        if verdict is None:
            return None
        if isinstance(verdict, PolicyDecision):
            return verdict
        if verdict:
            return PolicyDecision.allowed(self.name)
        return PolicyDecision(DecisionResult.BLOCKED, self.reason_code, self.name, self.reason)


class Engine:
    """The default :class:`~genops.policy.base.PolicyEngine`: rules in order, most severe wins."""

    def __init__(
        self,
        policies: Iterable[Policy] = (),
        *,
        attribution_enforcement: Enforcement | str = Enforcement.WARNING,
    ) -> None:
        self._lock = threading.Lock()
        builtin: list[Policy] = [AttributionRequired(Enforcement.parse(attribution_enforcement))]
        self._policies: tuple[Policy, ...] = (*builtin, *policies)
        self._check_unique()

    def _check_unique(self) -> None:
        seen: set[str] = set()
        for p in self._policies:
            if p.name in seen:
                raise ValueError(f"duplicate policy name {p.name!r}")
            seen.add(p.name)

    @property
    def policies(self) -> tuple[Policy, ...]:
        """The policies in evaluation order (built-ins first)."""
        return self._policies

    def add(self, policy: Policy, *, replace: bool = False) -> None:
        """Register a policy; ``replace=True`` swaps one of the same name."""
        with self._lock:
            existing = [p for p in self._policies if p.name == policy.name]
            if existing and not replace:
                raise ValueError(f"a policy named {policy.name!r} is already registered")
            self._policies = (*(p for p in self._policies if p.name != policy.name), policy)

    def remove(self, name: str) -> None:
        """Unregister a policy by name (no error if absent)."""
        with self._lock:
            self._policies = tuple(p for p in self._policies if p.name != name)

    def evaluate(self, request: UnitRequest) -> list[PolicyDecision]:
        """Every applicable policy's decision, enforcement applied, in order."""
        decisions: list[PolicyDecision] = []
        only = request.only_policies
        for policy in self._policies:
            if policy.enforcement is Enforcement.OFF:
                continue
            if only is not None and policy.name not in only and policy.name != ATTRIBUTION_POLICY:
                continue
            try:
                decision = policy.evaluate(request)
            except Exception as exc:  # a broken rule must not break the app
                _safety.report(exc, f"policy {policy.name!r} failed to evaluate")
                continue
            if decision is None:
                continue
            if decision.policy_name is None:
                decision = PolicyDecision(
                    decision.result, decision.reason_code, policy.name, decision.reason
                )
            decisions.append(apply_enforcement(decision, policy.enforcement))
        return decisions

    def admit(self, request: UnitRequest) -> Admission:
        """Decide, then (when the unit may run) record its reservation."""
        decisions = tuple(self.evaluate(request))
        winner = most_severe(decisions)
        if not winner.proceeds:
            return Admission(decision=winner, decisions=decisions)
        est = request.estimate
        if est.cost_usd is not None:
            return Admission(decision=winner, decisions=decisions, reserved=float(est.cost_usd))
        return Admission(decision=winner, decisions=decisions, reserved=float(est.tokens), unit="tokens")

    def settle(
        self, admission: Admission, *, cost_usd: Decimal | None, usage: Usage | None
    ) -> Settlement:
        """Nothing to reconcile without budgets."""
        return Settlement()

    def release(self, admission: Admission) -> None:
        """Nothing to release without budgets."""
