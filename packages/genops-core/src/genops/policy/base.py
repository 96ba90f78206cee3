"""What the lifecycle hands the policy engine, and what it gets back.

The governed-unit lifecycle (:mod:`genops.lifecycle`) calls exactly three methods of
a :class:`PolicyEngine`: :meth:`~PolicyEngine.admit` before execution (policy
decision + budget reservation, atomically), then either
:meth:`~PolicyEngine.settle` with the measured cost or :meth:`~PolicyEngine.release`
when the unit never ran or failed. Everything else — policy types, ledgers,
windows, alerts, audit — lives behind that seam.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from genops.attribution import Attribution
from genops.decision import ALLOWED, PolicyDecision
from genops.usage import Usage


class Enforcement(StrEnum):
    """How a violated policy is enforced (the GenOps-AI migration path)."""

    BLOCKED = "BLOCKED"  #: violations stop the unit before execution
    WARNING = "WARNING"  #: violations are recorded as WARNING; the unit runs
    OFF = "OFF"  #: the policy is not evaluated (observe nothing)

    @classmethod
    def parse(cls, value: Any, *, where: str = "enforcement") -> Enforcement:
        """Accept an :class:`Enforcement` or its case-insensitive name."""
        if isinstance(value, Enforcement):
            return value
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        raise ValueError(f"{where} must be one of {', '.join(cls)}; got {value!r}")


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a unit is expected to consume, computed before it runs.

    ``cost_usd`` is the reservation upper bound (input tokens × input price + max
    output tokens × output price); ``None`` when the model's price is unknown.
    ``estimated_cost_usd``: the same bound at an *estimated* price
    (:mod:`genops.price_estimate`) when the price is unknown and an estimate exists —
    what ``on_unknown_price: estimate`` reserves and caps.
    """

    input_tokens: int = 0
    max_output_tokens: int = 0
    cost_usd: Decimal | None = None
    estimated_cost_usd: Decimal | None = None

    @property
    def tokens(self) -> int:
        """Upper bound of total tokens."""
        return self.input_tokens + self.max_output_tokens


@dataclass(frozen=True, slots=True)
class UnitRequest:
    """Everything a policy may look at before a unit runs."""

    attribution: Attribution
    operation_name: str
    operation_type: str
    provider: str | None
    model: str | None
    estimate: Estimate
    region: str | None = None
    #: Texts that would be sent (prompt messages); only read by content policies.
    content: Sequence[str] = ()
    #: Free-form extras from the adapter (e.g. tool names).
    metadata: dict[str, Any] = field(default_factory=dict)
    #: When set (``@enforce_policy("a", "b")``), only these policies are evaluated.
    only_policies: frozenset[str] | None = None
    #: The unit's span ids (lowercase hex), for audit records.
    trace_id: str | None = None
    span_id: str | None = None


@dataclass(frozen=True, slots=True)
class BudgetState:
    """Where a budget stands (spec §7.3 budget structure), for span attributes/events."""

    name: str
    allocated: float
    consumed: float
    remaining: float
    period: str
    unit: str = "USD"
    #: the budget instance's scope values, e.g. ``"team=support"`` ("" for a global budget)
    scope: str = ""


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    """A budget crossed one of its ``alert_at`` thresholds (emitted as genops.budget.alert)."""

    name: str
    threshold: float
    consumed: float
    allocated: float
    period: str
    #: the budget's window (``daily``, ``monthly``, ``rolling:3600s``, …)
    window: str = ""


@dataclass(frozen=True, slots=True)
class Admission:
    """The outcome of the pre-execution phase of one unit.

    ``decision`` is the most severe of ``decisions`` (one per evaluated policy).
    When it proceeds, ``reserved``/``unit`` are what was reserved (spec §3.3 cond. 1)
    and ``handle`` is the engine's opaque reservation to settle or release.
    """

    decision: PolicyDecision = ALLOWED
    decisions: tuple[PolicyDecision, ...] = ()
    reserved: float = 0.0
    unit: str = "USD"
    handle: Any = None
    budget: BudgetState | None = None
    #: Rewrites outgoing text when a content policy asks to redact; adapters apply it.
    redact: Callable[[str], str] | None = None
    alerts: tuple[BudgetAlert, ...] = ()
    #: every budget instance the unit reserved against (``budget`` is the tightest)
    budgets: tuple[BudgetState, ...] = ()


@dataclass(frozen=True, slots=True)
class Settlement:
    """The outcome of reconciliation: budget position afterwards and alerts crossed."""

    budget: BudgetState | None = None
    alerts: tuple[BudgetAlert, ...] = ()
    #: every budget instance after settlement (``budget`` is the tightest)
    budgets: tuple[BudgetState, ...] = ()


@runtime_checkable
class PolicyEngine(Protocol):
    """The seam between the lifecycle and governance (see module docstring).

    Implementations must be thread-safe and must not raise for ordinary denials:
    a denial is an :class:`Admission` whose decision does not proceed.
    """

    def admit(self, request: UnitRequest) -> Admission: ...

    def settle(
        self, admission: Admission, *, cost_usd: Decimal | None, usage: Usage | None
    ) -> Settlement: ...

    def release(self, admission: Admission) -> None: ...


class Policy(Protocol):
    """A rule evaluated before execution.

    ``evaluate`` returns the decision it would make under BLOCKED enforcement, or
    ``None`` when the policy does not apply to this request (out of scope); the
    engine applies the enforcement mode.
    """

    name: str
    enforcement: Enforcement

    def evaluate(self, request: UnitRequest) -> PolicyDecision | None: ...
