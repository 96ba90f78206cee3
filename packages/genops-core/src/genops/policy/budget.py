"""Ledger-backed policies: budgets (reserve → settle) and rate limits (counters).

    BudgetPolicy("support-monthly", limit="100.00", window="monthly", per=["team"],
                 scope={"team": "support"}, alert_at=[0.5, 0.8, 1.0])
    RateLimit("team-rate", requests=60, window="1m", per=["team"])

They do not decide alone: :meth:`plan` turns a request into a ledger
:class:`~genops.ledger.Claim` (or a decision when no claim can be made, e.g. an
unknown price), and the engine reserves every claim of a unit in one atomic
ledger call, then asks :meth:`outcome` for each policy's decision.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any, Final

from genops.decision import (
    X_LEDGER_UNAVAILABLE,
    DecisionResult,
    PolicyDecision,
    ReasonCode,
)
from genops.ledger.base import NANOS, Claim, Position
from genops.policy.base import BudgetAlert, BudgetState, UnitRequest
from genops.policy.rules import (
    ON_UNKNOWN_PRICE,
    SCOPE_FIELDS,
    _Rule,
    priced,
    request_field,
    unknown_price,
)
from genops.policy.windows import Window, parse_duration
from genops.usage import Usage

BUDGET_UNITS: Final = ("USD", "tokens")
ON_LEDGER_ERROR: Final = ("fail_open", "fail_closed")
#: The value used in a budget key for a ``per`` field the request does not set.
UNSET: Final = "unattributed"


def _per(per: str | Sequence[str] | None) -> tuple[str, ...]:
    if per is None:
        return ()
    fields = (per,) if isinstance(per, str) else tuple(per)
    for f in fields:
        if f not in SCOPE_FIELDS:
            raise ValueError(f"unknown per field {f!r}; allowed: {', '.join(SCOPE_FIELDS)}")
    if len(set(fields)) != len(fields):
        raise ValueError("per fields must not repeat")
    return fields


@dataclass(frozen=True, slots=True)
class Plan:
    """What one ledger-backed policy wants from the ledger for one unit."""

    policy: LedgerPolicy
    claim: Claim
    period: str


class LedgerPolicy(_Rule):
    """Shared parts of budgets and rate limits: key, window, ledger-error behaviour."""

    kind = "budget"
    window: Window

    def __init__(
        self,
        name: str,
        *,
        per: str | Sequence[str] | None = None,
        on_ledger_error: str = "fail_open",
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        self.per = _per(per)
        if on_ledger_error not in ON_LEDGER_ERROR:
            raise ValueError(f"on_ledger_error must be one of {', '.join(ON_LEDGER_ERROR)}")
        self.on_ledger_error = on_ledger_error

    def key(self, values: dict[str, str | None]) -> str:
        """The ledger key of the budget instance for these ``per`` values."""
        parts = [f"{self.kind}:{self.name}"]
        parts += [f"{f}={values.get(f) or UNSET}" for f in self.per]
        return "|".join(parts)

    def request_key(self, request: UnitRequest) -> str:
        return self.key({f: request_field(request, f) for f in self.per})

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        """Ledger policies decide in :meth:`outcome`; in scope means "plan me"."""
        return self.allow

    @abstractmethod
    def plan(self, request: UnitRequest, now: float) -> Plan | PolicyDecision: ...

    def ledger_unavailable(self, error: BaseException) -> PolicyDecision:
        """The decision when the ledger failed (``on_ledger_error``)."""
        result = (
            DecisionResult.BLOCKED
            if self.on_ledger_error == "fail_closed"
            else DecisionResult.WARNING
        )
        return PolicyDecision(
            result,
            X_LEDGER_UNAVAILABLE,
            self.name,
            f"ledger unavailable ({self.on_ledger_error}): {_scrubbed(error)}",
        )

    @abstractmethod
    def denied(self, position: Position, amount: int) -> PolicyDecision: ...

    @abstractmethod
    def admitted(self, position: Position, over: bool) -> PolicyDecision: ...


class BudgetPolicy(LedgerPolicy):
    """A spending (USD) or token budget per window and per attribution key."""

    kind = "budget"

    def __init__(
        self,
        name: str,
        limit: Decimal | float | int | str,
        *,
        window: str = "monthly",
        unit: str = "USD",
        timezone: str = "UTC",
        alert_at: Sequence[float] = (),
        on_unknown_price: str = "warn",
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        if unit not in BUDGET_UNITS:
            raise ValueError(f"unit must be one of {', '.join(BUDGET_UNITS)}")
        self.unit = unit
        self.limit = Decimal(str(limit))
        if not self.limit.is_finite() or self.limit <= 0:
            raise ValueError("limit must be a positive number")
        if unit == "tokens" and self.limit != self.limit.to_integral_value():
            raise ValueError("a tokens budget needs a whole-number limit")
        self.scale = NANOS if unit == "USD" else 1
        self.limit_scaled = int(self.limit * self.scale)
        self.window = Window.parse(window, timezone=timezone)
        thresholds = sorted({float(t) for t in alert_at})
        if any(not math.isfinite(t) or t <= 0 for t in thresholds):
            raise ValueError("alert_at thresholds must be positive fractions (0.8 = 80%)")
        self.alert_at = tuple(thresholds)
        if on_unknown_price not in ON_UNKNOWN_PRICE:
            raise ValueError(f"on_unknown_price must be one of {', '.join(ON_UNKNOWN_PRICE)}")
        self.on_unknown_price = on_unknown_price

    def scaled(self, value: Decimal | int, *, reserve: bool) -> int:
        """A money or token amount as the ledger's integer (reservations round up)."""
        scaled = Decimal(value) * self.scale
        mode = ROUND_CEILING if reserve else ROUND_HALF_UP
        return max(int(scaled.to_integral_value(rounding=mode)), 0)

    def plan(self, request: UnitRequest, now: float) -> Plan | PolicyDecision:
        est = request.estimate
        if self.unit == "USD":
            cost = priced(request, self.on_unknown_price)
            if cost is None:
                return unknown_price(self, self.on_unknown_price, f"model {request.model}")
            amount = self.scaled(cost, reserve=True)
        else:
            amount = est.tokens
        slot = self.window.current(now)
        enforce = self.enforcement.value == "BLOCKED"
        claim = Claim(
            self.request_key(request), self.limit_scaled, amount, slot.bucket, slot.buckets,
            slot.keep_for, enforce=enforce,
        )  # fmt: skip
        return Plan(self, claim, slot.period)

    def actual(self, cost_usd: Decimal | None, usage: Usage | None, reserved: int) -> int:
        """The settled amount: the measured cost/tokens, else the reservation (spec §3.5)."""
        if self.unit == "USD":
            return reserved if cost_usd is None else self.scaled(cost_usd, reserve=False)
        return reserved if usage is None else usage.total_tokens

    def units(self, scaled: int) -> float:
        return scaled / self.scale

    def state(self, position: Position, period: str, key: str = "") -> BudgetState:
        """The spec §7.3 budget attributes for a position (``key``: the claim's ledger key,
        whose ``per`` values become the state's ``scope``)."""
        return BudgetState(
            name=self.name,
            allocated=float(self.limit),
            consumed=self.units(position.consumed),
            remaining=self.units(max(position.limit - position.committed, 0)),
            period=period,
            unit=self.unit,
            scope=key.split("|", 1)[1] if "|" in key else "",
        )

    def reached(self, position: Position) -> list[float]:
        """The ``alert_at`` thresholds settled spend has reached (reservations excluded:
        consumed + in-flight crosses a line and falls back on every call)."""
        return [t for t in self.alert_at if position.consumed >= t * position.limit]

    def alert(self, threshold: float, position: Position, period: str) -> BudgetAlert:
        return BudgetAlert(
            self.name,
            threshold,
            self.units(position.consumed),
            float(self.limit),
            period,
            self.window.name,
        )

    def denied(self, position: Position, amount: int) -> PolicyDecision:
        left = self.units(position.remaining)
        need = self.units(amount)
        if position.remaining <= 0:
            return self.deny(
                ReasonCode.BUDGET_EXCEEDED,
                f"budget {self.limit} {self.unit} ({self.window.name}) is exhausted",
            )
        return self.deny(
            ReasonCode.BUDGET_RESERVATION_FAILED,
            f"reservation {need:g} {self.unit} exceeds the remaining {left:g} {self.unit}",
        )

    def admitted(self, position: Position, over: bool) -> PolicyDecision:
        if over:
            return self.deny(
                ReasonCode.BUDGET_EXCEEDED,
                f"over budget {self.limit} {self.unit} ({self.window.name}) — WARNING enforcement",
                DecisionResult.WARNING,
            )
        return self.allow


class RateLimit(LedgerPolicy):
    """At most ``requests`` units per rolling ``window`` per key (``RATE_LIMITED``)."""

    kind = "rate"

    def __init__(
        self, name: str, requests: int, *, window: str | float = "1m", **common: Any
    ) -> None:
        super().__init__(name, **common)
        if isinstance(requests, bool) or not isinstance(requests, int) or requests <= 0:
            raise ValueError("requests must be a positive integer")
        self.requests = requests
        text = window.strip().lower() if isinstance(window, str) else window
        if isinstance(text, str) and text.startswith("rolling:"):
            text = text[len("rolling:") :]
        self.window = Window("rolling", parse_duration(text))

    def plan(self, request: UnitRequest, now: float) -> Plan | PolicyDecision:
        slot = self.window.current(now)
        enforce = self.enforcement.value == "BLOCKED"
        claim = Claim(
            self.request_key(request), self.requests, 1, slot.bucket, slot.buckets,
            slot.keep_for, enforce=enforce, commit=True,
        )  # fmt: skip
        return Plan(self, claim, slot.period)

    def denied(self, position: Position, amount: int) -> PolicyDecision:
        return self.deny(
            ReasonCode.RATE_LIMITED,
            f"{self.requests} requests per {self.window.seconds:g}s reached",
            DecisionResult.RATE_LIMITED,
        )

    def admitted(self, position: Position, over: bool) -> PolicyDecision:
        if over:
            return self.deny(
                ReasonCode.RATE_LIMITED,
                f"over {self.requests} requests per {self.window.seconds:g}s — WARNING enforcement",
                DecisionResult.WARNING,
            )
        return self.allow


def _scrubbed(error: BaseException) -> str:
    from genops.scrub import scrub_secrets  # (loads on the first ledger error)

    return scrub_secrets(str(error))
