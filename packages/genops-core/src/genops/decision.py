"""The enforcement decision model of GenOps spec §4 and the reason codes of §5.

A :class:`PolicyDecision` is immutable once made (spec §4.3). A blocked unit raises
:class:`PolicyViolationError`, which carries the decision that blocked it::

    try:
        client.chat.completions.create(model="gpt-4o", messages=msgs)
    except genops.PolicyViolationError as err:
        log.warning("blocked by %s: %s", err.policy_name, err.reason_code)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class DecisionResult(StrEnum):
    """The four decision states of spec §4.1 — the complete set for v0.1."""

    ALLOWED = "ALLOWED"
    WARNING = "WARNING"
    RATE_LIMITED = "RATE_LIMITED"
    BLOCKED = "BLOCKED"

    @property
    def severity(self) -> int:
        """Ordering used to pick the most severe decision among several policies."""
        return _SEVERITY[self]

    @property
    def proceeds(self) -> bool:
        """True when a unit with this decision may run (ALLOWED or WARNING)."""
        return self in (DecisionResult.ALLOWED, DecisionResult.WARNING)


_SEVERITY: Final = {
    DecisionResult.ALLOWED: 0,
    DecisionResult.WARNING: 1,
    DecisionResult.RATE_LIMITED: 2,
    DecisionResult.BLOCKED: 3,
}


class ReasonCode(StrEnum):
    """The fixed reason_code taxonomy of spec §5.2."""

    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    BUDGET_RESERVATION_FAILED = "BUDGET_RESERVATION_FAILED"
    POLICY_DENY_MODEL = "POLICY_DENY_MODEL"
    POLICY_DENY_REGION = "POLICY_DENY_REGION"
    POLICY_DENY_CONTENT = "POLICY_DENY_CONTENT"
    RATE_LIMITED = "RATE_LIMITED"
    SLA_LATENCY_VIOLATION = "SLA_LATENCY_VIOLATION"
    PROVIDER_ERROR_UPSTREAM = "PROVIDER_ERROR_UPSTREAM"
    ACCOUNTING_INVARIANT_VIOLATION = "ACCOUNTING_INVARIANT_VIOLATION"


#: genops' own extension codes (spec §5.5: ``x_`` + lowercase alphanumerics/underscores).
X_ATTRIBUTION_MISSING: Final = "x_attribution_missing"
X_LEDGER_UNAVAILABLE: Final = "x_ledger_unavailable"
X_PRICE_UNKNOWN: Final = "x_price_unknown"
X_MAX_TOKENS_EXCEEDED: Final = "x_max_tokens_exceeded"
X_COST_CAP_EXCEEDED: Final = "x_cost_cap_exceeded"
X_CUSTOM_POLICY: Final = "x_custom_policy"
#: an ``evaluation`` policy: the scope's recent pass rate / mean score is below its minimum
X_EVALUATION_BELOW_MINIMUM: Final = "x_evaluation_below_minimum"

_EXTENSION_RE: Final = re.compile(r"^x_[a-z0-9_]+$")


def validate_reason_code(code: str) -> str:
    """Return ``code`` if it is a spec reason code or a valid ``x_`` extension, else raise.

    >>> validate_reason_code("BUDGET_EXCEEDED")
    'BUDGET_EXCEEDED'
    >>> validate_reason_code("x_internal_quota")
    'x_internal_quota'
    """
    if code in ReasonCode.__members__ or _EXTENSION_RE.fullmatch(code):
        return str(code)
    raise ValueError(
        f"reason_code {code!r} is neither a GenOps v0.1 reason code "
        f"({', '.join(ReasonCode)}) nor an extension code matching 'x_[a-z0-9_]+'"
    )


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """One immutable enforcement decision (spec §4.2).

    ``reason_code`` is ``None`` exactly when ``result`` is ALLOWED (spec §5.3).
    """

    result: DecisionResult
    reason_code: str | None = None
    policy_name: str | None = None
    reason: str | None = None
    timestamp_ms: int | None = None

    def __post_init__(self) -> None:
        result = DecisionResult(self.result)
        object.__setattr__(self, "result", result)
        if result is DecisionResult.ALLOWED:
            if self.reason_code is not None:
                raise ValueError("reason_code must be None when the result is ALLOWED (spec §5.3)")
        elif self.reason_code is None:
            raise ValueError(f"reason_code is required when the result is {result.value}")
        else:
            object.__setattr__(self, "reason_code", validate_reason_code(self.reason_code))

    @classmethod
    def allowed(cls, policy_name: str | None = None, reason: str | None = None) -> PolicyDecision:
        """An ALLOWED decision."""
        return cls(DecisionResult.ALLOWED, None, policy_name, reason)

    @property
    def proceeds(self) -> bool:
        """True when the unit may run."""
        return self.result.proceeds


ALLOWED: Final = PolicyDecision(DecisionResult.ALLOWED)


def most_severe(decisions: list[PolicyDecision] | tuple[PolicyDecision, ...]) -> PolicyDecision:
    """The decision that wins among several: highest severity, first one on ties."""
    winner = ALLOWED
    for decision in decisions:
        if decision.result.severity > winner.result.severity:
            winner = decision
    return winner


class PolicyViolationError(Exception):
    """Raised before execution when a unit is BLOCKED or RATE_LIMITED.

    The provider never receives the request. ``decision`` is the immutable
    decision; ``result``, ``reason_code``, ``policy_name`` and ``reason`` mirror it.
    """

    def __init__(self, decision: PolicyDecision, *, operation_name: str | None = None) -> None:
        self.decision = decision
        self.operation_name = operation_name
        what = f" {operation_name!r}" if operation_name else ""
        by = f" by policy {decision.policy_name!r}" if decision.policy_name else ""
        why = f": {decision.reason}" if decision.reason else ""
        super().__init__(f"{decision.result.value}{what}{by} [{decision.reason_code}]{why}")

    __module__ = "genops"  # error.type = "genops.PolicyViolationError", its public path

    @property
    def result(self) -> DecisionResult:
        """The decision state (BLOCKED or RATE_LIMITED)."""
        return self.decision.result

    @property
    def reason_code(self) -> str | None:
        """The spec reason code (or ``x_`` extension) of the decision."""
        return self.decision.reason_code

    @property
    def policy_name(self) -> str | None:
        """The policy that produced the decision."""
        return self.decision.policy_name

    @property
    def reason(self) -> str | None:
        """Human-readable explanation."""
        return self.decision.reason
