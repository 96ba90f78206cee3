"""Policy for an upcoming call, checked ahead of it, without reserving budget.

A guard placed in front of a model call — a pipeline component, a request handler —
asks what the policy engine would decide for that call and gets the texts back
with any content redaction applied, before it hands them on::

    check = genops.check_policy(
        provider="openai",
        model="gpt-4o-mini",
        request=genops.RequestEstimate(texts=[prompt], max_output_tokens=400),
    )
    check.raise_for_decision()        # BLOCKED / RATE_LIMITED → genops.PolicyViolationError
    prompt = check.texts[0]           # redacted when a content policy says "redact"

**Nothing is reserved.** The check is the same evaluation as a unit's admission —
the stateless rules (models, regions, cost cap, max tokens, content) and every budget
and rate limit, read from the ledger's current position — but the ledger is only
read: no reservation, no rate-limit counter. The governed unit of the call itself
(opened by the framework adapter or :func:`genops.governed`) then admits and reserves
as always, so the budget is counted once. A budget is therefore checked twice (by
the check, then atomically by the unit's reservation); calls running concurrently
may still fill it in between, and the unit's reservation is what decides then.

**A denial is recorded, an allowance is not.** When the check does not let the
call through, the call never gets a unit, so the check stands in for it: the
decisions are counted in the ``genops.policy.decisions`` metric and written to the
engine's audit trail like a blocked unit's. An allowed check records nothing — the
unit that follows records its own decision (no double count).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from genops import _safety
from genops import attributes as A
from genops._record import attribution_labels, default_gen_ai_operation
from genops.attribution import Attribution, resolve_attribution
from genops.decision import PolicyDecision, PolicyViolationError
from genops.estimate import RequestEstimate
from genops.ledger import LedgerUnavailable
from genops.ledger.base import fits
from genops.policy.base import Admission, Estimate, UnitRequest

if TYPE_CHECKING:
    from genops.policy.budget import LedgerPolicy
    from genops.policy.engine import Engine
    from genops.runtime import GenOps


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """The outcome of :func:`check_policy`.

    ``decision`` is the most severe of ``decisions`` (one per applicable policy);
    ``texts`` are the request's texts, rewritten by ``redact`` when a content policy
    asks to redact (unchanged otherwise); ``request`` is exactly what the policies saw
    (attribution, estimate with the max cost, …).
    """

    decision: PolicyDecision
    decisions: tuple[PolicyDecision, ...]
    request: UnitRequest
    texts: tuple[str, ...]
    redact: Callable[[str], str] | None = None

    @property
    def proceeds(self) -> bool:
        """True when the call may run (ALLOWED or WARNING)."""
        return self.decision.proceeds

    @property
    def redacted(self) -> bool:
        """True when redaction changed at least one text."""
        return self.texts != tuple(self.request.content)

    @property
    def estimate(self) -> Estimate:
        """Input tokens, max output tokens and max cost (``None``: price unknown)."""
        return self.request.estimate

    def attributes(self) -> dict[str, str]:
        """The winning decision as ``genops.policy.*`` span attributes (result, reason
        code, policy name) for the span of the component or handler that checked."""
        d = self.decision
        attrs = {A.POLICY_RESULT: d.result.value}
        if d.reason_code is not None:
            attrs[A.POLICY_REASON_CODE] = d.reason_code
        if d.policy_name:
            attrs[A.POLICY_NAME] = d.policy_name
        return attrs

    def error(self) -> PolicyViolationError:
        """The :class:`genops.PolicyViolationError` of this decision (what
        :meth:`raise_for_decision` raises; adapters may raise a subclass)."""
        return PolicyViolationError(self.decision, operation_name=self.request.operation_name)

    def raise_for_decision(self) -> None:
        """Raise :class:`genops.PolicyViolationError` unless the call may run."""
        if not self.proceeds:
            raise self.error()


def estimate(
    runtime: GenOps, provider: str | None, model: str | None, request: RequestEstimate
) -> Estimate:
    """The reservation estimate of a cost-bearing call: what its unit would reserve."""
    input_tokens = request.input_token_estimate()
    max_out = request.max_output_tokens
    if max_out is None:
        max_out = runtime.default_max_output_tokens
    cost: Decimal | None = None
    if model:
        pricing = runtime.prices.lookup(provider, model)
        if pricing is not None:
            cost = pricing.max_cost(input_tokens, max_out)
    return Estimate(input_tokens=input_tokens, max_output_tokens=max_out, cost_usd=cost)


def check_policy(
    operation_name: str = "policy_check",
    *,
    provider: str | None = None,
    model: str | None = None,
    request: RequestEstimate | None = None,
    operation_type: str = "inference",
    gen_ai_operation: str | None = None,
    region: str | None = None,
    attribution: Attribution | None = None,
    policies: frozenset[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> PolicyCheck:
    """Decide for an upcoming call without reserving budget (see the module docs).

    Takes what :func:`genops.governed` takes for a provider call; ``policies`` limits
    the check to the named policies (the built-in attribution rule always applies).
    Never raises for a denial — call :meth:`PolicyCheck.raise_for_decision`. An
    internal error is reported (logged once, counted) and the check allows.
    """
    from genops.runtime import get_runtime

    rt = get_runtime()
    req = request or RequestEstimate()
    texts = tuple(req.texts)
    resolved = resolve_attribution(rt.defaults)
    if attribution is not None:
        resolved = attribution.over(resolved)
    unit_request = UnitRequest(
        attribution=resolved,
        operation_name=operation_name,
        operation_type=operation_type,
        provider=provider,
        model=model,
        estimate=estimate(rt, provider, model, req),
        region=region,
        content=texts,
        metadata=metadata or {},
        only_policies=policies,
    )
    admission = Admission()
    try:
        admission = _decide(rt, unit_request)
        if not admission.decision.proceeds:
            op = gen_ai_operation or default_gen_ai_operation(operation_type)
            _count(rt, unit_request, op, admission.decisions or (admission.decision,))
    except Exception as exc:  # a check must not break the app for our bug
        _safety.report(exc, "policy check")
    redact = admission.redact if admission.decision.proceeds else None
    return PolicyCheck(
        decision=admission.decision,
        decisions=admission.decisions,
        request=unit_request,
        texts=tuple(redact(t) for t in texts) if redact is not None else texts,
        redact=redact,
    )


def _decide(rt: GenOps, request: UnitRequest) -> Admission:
    check = getattr(rt.engine, "check", None)
    if callable(check):
        admission: Admission = check(request)
        return admission
    # A custom engine without a read-only check: admit, then release at once.
    admission = rt.engine.admit(request)
    rt.engine.release(admission)
    return admission


def peek_budgets(
    engine: Engine,
    request: UnitRequest,
    ledgered: Sequence[LedgerPolicy],
    decisions: list[PolicyDecision],
) -> None:
    """Append each budget's / rate limit's decision from the ledger's current position
    (read only), the way the engine's reservation would decide it."""
    from genops.policy.engine import apply_enforcement

    now = engine.clock()
    for policy in ledgered:
        planned = policy.plan(request, now)
        if isinstance(planned, PolicyDecision):
            decisions.append(apply_enforcement(planned, policy.enforcement))
            continue
        claim = planned.claim
        try:
            pos = engine.ledger.usage(claim.key, claim.buckets, claim.limit, now=now)
        except Exception as exc:
            if not isinstance(exc, LedgerUnavailable):
                exc = LedgerUnavailable(f"ledger error: {type(exc).__name__}")
            decisions.append(apply_enforcement(policy.ledger_unavailable(exc), policy.enforcement))
            continue
        fit = fits(pos.committed, claim.amount, claim.limit)
        if claim.enforce and not fit:
            decisions.append(policy.denied(pos, claim.amount))
        else:
            over = pos.committed + claim.amount > claim.limit
            decisions.append(apply_enforcement(policy.admitted(pos, over), policy.enforcement))


def _count(
    rt: GenOps, request: UnitRequest, operation: str, evaluated: Sequence[PolicyDecision]
) -> None:
    """A denial in ``genops.policy.decisions``: one point per objecting policy, labelled
    like a blocked unit's."""
    labels: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation}
    labels.update(attribution_labels(rt, request.attribution))
    if request.provider:
        labels[A.GEN_AI_PROVIDER_NAME] = request.provider
    if request.model:
        labels[A.GEN_AI_REQUEST_MODEL] = request.model
    guarded: dict[str, Any] = dict(rt.label_guard.apply(labels))
    for d in evaluated:
        if d.reason_code is not None:
            rt.instruments.decisions.add(
                1,
                {
                    **guarded,
                    A.POLICY_RESULT: d.result.value,
                    A.POLICY_REASON_CODE: d.reason_code,
                    **({A.POLICY_NAME: d.policy_name} if d.policy_name else {}),
                },
            )


__all__ = ["PolicyCheck", "check_policy", "estimate", "peek_budgets"]
