"""The policy engine the lifecycle calls: evaluate rules, then reserve budget.

    engine = Engine(ledger="sqlite:///var/lib/genops/ledger.db", audit=AuditLog("audit.jsonl"))
    engine.add(CallablePolicy("no-gpt4-in-dev", lambda r: r.model != "gpt-4", "POLICY_DENY_MODEL"))
    engine.add(BudgetPolicy("team-daily", limit=20, window="daily", per=["team"]))
    admission = engine.admit(request)   # most severe decision wins

Policies are evaluated in registration order on an immutable snapshot, so adding
one while units run is safe. A policy whose ``evaluate`` raises is an internal
error: it is logged and counted, and the policy is treated as not applicable
(fail-open) — a bug in a rule must not take the app down.

Admission runs in two phases: stateless rules first (models, content, caps…);
only when they let the unit through are the ledger-backed policies (budgets,
rate limits) reserved — all of a unit's claims in **one** atomic ledger call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from genops import _safety
from genops import attributes as A
from genops.decision import (
    X_ATTRIBUTION_MISSING,
    X_CUSTOM_POLICY,
    DecisionResult,
    PolicyDecision,
    most_severe,
)
from genops.ledger import Denied, Ledger, LedgerUnavailable, Reservation, open_ledger
from genops.ledger.base import Position, bounded
from genops.ledger.guard import GuardedLedger
from genops.policy.base import (
    Admission,
    BudgetAlert,
    BudgetState,
    Enforcement,
    Policy,
    Settlement,
    UnitRequest,
)
from genops.policy.budget import BudgetPolicy, LedgerPolicy, Plan
from genops.policy.rules import ContentPolicy
from genops.policy.windows import Clock, system_clock
from genops.price_estimate import estimating
from genops.usage import Usage

log = logging.getLogger("genops")

if TYPE_CHECKING:
    from genops.audit import AuditLog


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


#: Default lifetime of a reservation whose unit never settles (a crashed process).
DEFAULT_RESERVATION_TTL = 600.0


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Where one budget (or rate-limit) instance stands, in its own unit."""

    policy: str
    key: str
    period: str
    unit: str
    limit: float
    consumed: float
    reserved: float
    remaining: float


def _tightest(states: list[tuple[float, BudgetState]]) -> BudgetState | None:
    """The budget with the smallest remaining fraction (first on ties)."""
    best: tuple[float, BudgetState] | None = None
    for ratio, state in states:
        if best is None or ratio < best[0]:
            best = (ratio, state)
    return best[1] if best else None


@dataclass(frozen=True, slots=True)
class _Held:
    reservation: Reservation
    plans: tuple[Plan, ...]


class Engine:
    """The default :class:`~genops.policy.base.PolicyEngine`: rules in order, most severe wins.

    - ``ledger``: ``"memory"`` (default), ``"sqlite:///path"``, ``"redis://..."`` or a
      :class:`~genops.ledger.Ledger`; used by budget and rate-limit policies;
    - ``clock``: epoch-seconds callable deciding windows and reservation expiry
      (inject :class:`~genops.policy.windows.ManualClock` in tests);
    - ``audit``: an :class:`~genops.audit.AuditLog` receiving every decision;
    - ``reservation_ttl``: seconds after which an unsettled reservation expires;
    - ``ledger_retry_after``: after a ledger failure, seconds during which budget
      policies apply ``on_ledger_error`` at once instead of waiting on the backend.
    """

    def __init__(
        self,
        policies: Iterable[Policy] = (),
        *,
        attribution_enforcement: Enforcement | str = Enforcement.WARNING,
        ledger: Ledger | str | None = None,
        clock: Clock | None = None,
        audit: AuditLog | None = None,
        reservation_ttl: float = DEFAULT_RESERVATION_TTL,
        ledger_retry_after: float = 5.0,
    ) -> None:
        self._lock = threading.Lock()
        builtin: list[Policy] = [AttributionRequired(Enforcement.parse(attribution_enforcement))]
        self._policies: tuple[Policy, ...] = (*builtin, *policies)
        self._check_unique()
        self.clock: Clock = clock or system_clock
        self.ledger: Ledger = GuardedLedger(
            open_ledger(ledger), retry_after=ledger_retry_after, clock=self.clock
        )
        self.audit = audit
        if not reservation_ttl > 0:
            raise ValueError("reservation_ttl must be positive seconds")
        self.reservation_ttl = float(reservation_ttl)
        #: The policy document's ``defaults`` (file format), applied to policies that
        #: ``genops.register_policy(type=...)`` adds later.
        self.policy_defaults: dict[str, Any] = {}
        #: alert markers this process knows are set → when they expire (None: never)
        self._alerted: dict[str, float | None] = {}

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

    def get(self, name: str) -> Policy | None:
        """The registered policy called ``name``."""
        return next((p for p in self._policies if p.name == name), None)

    def add(self, policy: Policy, *, replace: bool = False) -> None:
        """Register a policy; ``replace=True`` swaps one of the same name."""
        with self._lock:
            existing = [p for p in self._policies if p.name == policy.name]
            if existing and not replace:
                raise ValueError(f"a policy named {policy.name!r} is already registered")
            self._policies = (*(p for p in self._policies if p.name != policy.name), policy)

    def swap(self, update: Callable[[tuple[Policy, ...]], Iterable[Policy]]) -> tuple[Policy, ...]:
        """Replace the whole policy set in one assignment (a policy reload).

        ``update(current)`` returns the new set; it runs under the engine's lock, so a
        concurrent :meth:`add` is not lost. A unit being admitted evaluates the old set
        or the new one, never a mix; units already admitted keep their decision.
        """
        with self._lock:
            new = tuple(update(self._policies))
            names = [p.name for p in new]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate policy name(s) {dupes}")
            self._policies = new
            return new

    def remove(self, name: str) -> None:
        """Unregister a policy by name (no error if absent)."""
        with self._lock:
            self._policies = tuple(p for p in self._policies if p.name != name)

    def _selected(self, request: UnitRequest) -> Iterable[Policy]:
        only = request.only_policies
        for policy in self._policies:
            if policy.enforcement is Enforcement.OFF:
                continue
            if only is not None and policy.name not in only and policy.name != ATTRIBUTION_POLICY:
                continue
            yield policy

    def _run(
        self, request: UnitRequest
    ) -> tuple[list[PolicyDecision], list[LedgerPolicy], list[Callable[[str], str]]]:
        decisions: list[PolicyDecision] = []
        ledgered: list[LedgerPolicy] = []
        redactors: list[Callable[[str], str]] = []
        for policy in self._selected(request):
            try:
                decision = policy.evaluate(request)
            except Exception as exc:  # a broken rule must not break the app
                _safety.report(exc, f"policy {policy.name!r} failed to evaluate")
                continue
            if decision is None:
                continue
            if isinstance(policy, LedgerPolicy):
                ledgered.append(policy)
                continue
            if isinstance(policy, ContentPolicy) and policy.action == "redact":
                redactors.append(policy.redactor())
            if decision.policy_name is None:
                decision = PolicyDecision(
                    decision.result, decision.reason_code, policy.name, decision.reason
                )
            decisions.append(apply_enforcement(decision, policy.enforcement))
        return decisions, ledgered, redactors

    def evaluate(self, request: UnitRequest) -> list[PolicyDecision]:
        """Every applicable stateless policy's decision, enforcement applied, in order
        (budgets and rate limits decide in :meth:`admit`, where they reserve)."""
        return self._run(request)[0]

    def admit(self, request: UnitRequest) -> Admission:
        """Decide, then (when the unit may run) reserve every budget claim atomically."""
        static, ledgered, redactors = self._run(request)
        decisions = list(static)
        held: _Held | None = None
        budgets: list[tuple[float, BudgetState]] = []
        alerts: list[BudgetAlert] = []
        if ledgered and most_severe(decisions).proceeds:
            held, budgets, alerts = self._reserve(request, ledgered, decisions)
        winner = most_severe(decisions)
        est = request.estimate
        if not winner.proceeds:
            admission = Admission(decision=winner, decisions=tuple(decisions))
        else:
            cost = est.cost_usd
            if cost is None and estimating(self.policy_defaults, ledgered):
                cost = est.estimated_cost_usd  # on_unknown_price: estimate
            if cost is not None:
                reserved, unit = float(cost), "USD"
            else:
                reserved, unit = float(est.tokens), "tokens"
            admission = Admission(
                decision=winner,
                decisions=tuple(decisions),
                reserved=reserved,
                unit=unit,
                handle=held,
                budget=_tightest(budgets),
                redact=_compose(redactors),
                alerts=tuple(alerts),
                budgets=tuple(state for _, state in budgets),
            )
        if self.audit is not None:
            self._audit(request, admission)
        return admission

    def check(self, request: UnitRequest) -> Admission:
        """What :meth:`admit` would decide, reserving nothing: budgets and rate limits
        are read from the ledger's current position (:func:`genops.check_policy`).
        A denial goes to the audit trail (the unit it stands in for never runs)."""
        from genops.preflight import peek_budgets

        decisions, ledgered, redactors = self._run(request)
        if ledgered and most_severe(decisions).proceeds:
            peek_budgets(self, request, ledgered, decisions)
        winner = most_severe(decisions)
        admission = Admission(
            decision=winner,
            decisions=tuple(decisions),
            redact=_compose(redactors) if winner.proceeds else None,
        )
        if self.audit is not None and not winner.proceeds:
            self._audit(request, admission)
        return admission

    def _reserve(
        self, request: UnitRequest, ledgered: list[LedgerPolicy], decisions: list[PolicyDecision]
    ) -> tuple[_Held | None, list[tuple[float, BudgetState]], list[BudgetAlert]]:
        now = self.clock()
        plans: list[Plan] = []
        for policy in ledgered:
            planned = policy.plan(request, now)
            if isinstance(planned, PolicyDecision):
                decisions.append(apply_enforcement(planned, policy.enforcement))
            else:
                plans.append(planned)
        if not plans or not most_severe(decisions).proceeds:
            return None, [], []
        claims = [p.claim for p in plans]
        try:
            outcome = self.ledger.reserve(claims, ttl=self.reservation_ttl, now=now)
        except Exception as exc:  # LedgerUnavailable, or a ledger bug: never admit undecided
            if not isinstance(exc, LedgerUnavailable):  # decided as the ledger being down
                _ledger_bug(exc)
                exc = LedgerUnavailable(f"ledger error: {type(exc).__name__}")
            for plan in plans:
                decisions.append(
                    apply_enforcement(plan.policy.ledger_unavailable(exc), plan.policy.enforcement)
                )
            return None, [], []
        if isinstance(outcome, Denied):
            for i, (plan, pos) in enumerate(zip(plans, outcome.positions, strict=True)):
                if i in outcome.failed:
                    decisions.append(plan.policy.denied(pos, plan.claim.amount))
                else:
                    decisions.append(plan.policy.allow)
            return None, [], []
        alerts: list[BudgetAlert] = []
        states: list[tuple[float, BudgetState]] = []
        for plan, pos, over in zip(plans, outcome.positions, outcome.over, strict=True):
            policy = plan.policy
            decisions.append(apply_enforcement(policy.admitted(pos, over), policy.enforcement))
            if isinstance(policy, BudgetPolicy):
                ratio = pos.remaining / pos.limit if pos.limit else 0.0
                states.append((ratio, policy.state(pos, plan.period, plan.claim.key)))
        return _Held(outcome, tuple(plans)), states, alerts

    def settle(
        self, admission: Admission, *, cost_usd: Decimal | None, usage: Usage | None
    ) -> Settlement:
        """Replace the reservation by the measured cost (or tokens) in the ledger."""
        held = admission.handle
        if not isinstance(held, _Held):
            return Settlement(budget=admission.budget)
        actuals = [
            p.policy.actual(cost_usd, usage, p.claim.amount)
            if isinstance(p.policy, BudgetPolicy)
            else 0
            for p in held.plans
        ]
        actuals = [bounded(a) for a in actuals]
        try:
            settled = self.ledger.settle(held.reservation, actuals, now=self.clock())
        except LedgerUnavailable:  # logged by the guard; the charge cannot be recorded
            return Settlement(budget=admission.budget)
        alerts: list[BudgetAlert] = []
        states: list[tuple[float, BudgetState]] = []
        for plan, pos in zip(held.plans, settled.positions, strict=True):
            policy = plan.policy
            if not isinstance(policy, BudgetPolicy):
                continue
            alerts += self._alerts(policy, plan, pos)
            ratio = pos.remaining / pos.limit if pos.limit else 0.0
            states.append((ratio, policy.state(pos, plan.period, plan.claim.key)))
        return Settlement(
            budget=_tightest(states) or admission.budget,
            alerts=tuple(alerts),
            budgets=tuple(state for _, state in states),
        )

    def _alerts(self, policy: BudgetPolicy, plan: Plan, pos: Position) -> list[BudgetAlert]:
        """Each threshold settled spend reached, once per budget instance and window —
        once fleet-wide: the first process to set the ledger's marker fires it."""
        fired: list[BudgetAlert] = []
        for threshold in policy.reached(pos):
            marker = f"alert|{plan.claim.key}|{plan.period}|{threshold!r}"
            now = self.clock()
            known = self._alerted.get(marker, 0.0)
            if known is None or known > now:
                continue  # this process already saw it set: no ledger round trip
            keep = plan.claim.keep_for
            try:
                first = self.ledger.mark_once(marker, keep_for=keep, now=now)
            except LedgerUnavailable:
                continue  # not marked: the next settlement tries again
            if len(self._alerted) > 10_000:
                self._alerted.clear()
            self._alerted[marker] = None if keep is None else now + keep
            if first:
                fired.append(policy.alert(threshold, pos, plan.period))
        return fired

    def release(self, admission: Admission) -> None:
        """Drop the reservation (the unit never ran or failed without usage)."""
        held = admission.handle
        if not isinstance(held, _Held):
            return
        try:
            self.ledger.release(held.reservation, now=self.clock())
        except LedgerUnavailable:  # logged by the guard; it expires after its TTL anyway
            pass

    def budget_status(self, name: str, **values: str) -> BudgetStatus:
        """Consumed / reserved / remaining of budget ``name`` for its ``per`` values.

            engine.budget_status("support-monthly", team="support")

        Raises ``KeyError`` for an unknown policy, ``ValueError`` for missing or
        unexpected ``per`` values and :class:`~genops.ledger.LedgerUnavailable`.
        """
        policy = self.get(name)
        if not isinstance(policy, LedgerPolicy):
            raise KeyError(f"no budget or rate-limit policy named {name!r}")
        missing = [f for f in policy.per if f not in values]
        extra = [f for f in values if f not in policy.per]
        if missing or extra:
            raise ValueError(
                f"budget {name!r} is per {list(policy.per)}; missing {missing}, unexpected {extra}"
            )
        now = self.clock()
        slot = policy.window.current(now)
        key = policy.key(dict(values))
        if isinstance(policy, BudgetPolicy):
            limit, scale, unit = policy.limit_scaled, policy.scale, policy.unit
        else:
            limit, scale, unit = policy.requests, 1, "requests"  # type: ignore[attr-defined]
        pos = self.ledger.usage(key, slot.buckets, limit, now=now)
        return BudgetStatus(
            policy=name,
            key=key,
            period=slot.period,
            unit=unit,
            limit=limit / scale,
            consumed=pos.consumed / scale,
            reserved=pos.reserved / scale,
            remaining=pos.remaining / scale,
        )

    def _audit(self, request: UnitRequest, admission: Admission) -> None:
        audit = self.audit
        assert audit is not None
        decisions = admission.decisions or (admission.decision,)
        all_allowed = all(d.result is DecisionResult.ALLOWED for d in decisions)
        if not audit.keep(request.trace_id, all_allowed):
            return
        a = request.attribution
        base: dict[str, Any] = {
            "ts": self.clock(),
            "trace_id": request.trace_id,
            "span_id": request.span_id,
            "operation_name": request.operation_name,
            "operation_type": request.operation_type,
            "provider": request.provider,
            "model": request.model,
            **{field: getattr(a, field) for field in A.ATTRIBUTION_FIELDS},
            "unit_result": admission.decision.result.value,
            "reserved": admission.reserved,
            "unit": admission.unit,
            "budget_name": admission.budget.name if admission.budget else None,
            "budget_remaining": admission.budget.remaining if admission.budget else None,
        }
        audit.record(
            {
                **base,
                "policy": d.policy_name,
                "result": d.result.value,
                "reason_code": d.reason_code,
                "reason": d.reason,
            }
            for d in decisions
        )

    def close(self) -> None:
        """Flush the audit trail and close the ledger."""
        if self.audit is not None:
            self.audit.close()
        self.ledger.close()


_ledger_bugs: list[str] = []


def _ledger_bug(exc: BaseException) -> None:
    """A ledger raised something else than LedgerUnavailable: logged once, counted."""
    _safety.count_only("ledger reserve")
    if not _ledger_bugs:
        _ledger_bugs.append(type(exc).__name__)
        log.error("genops ledger raised %s; decided as ledger unavailable", type(exc).__name__)


def _compose(redactors: list[Callable[[str], str]]) -> Callable[[str], str] | None:
    if not redactors:
        return None
    if len(redactors) == 1:
        return redactors[0]

    def redact(text: str) -> str:
        for fn in redactors:
            text = fn(text)
        return text

    return redact
