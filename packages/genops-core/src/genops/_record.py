"""Step 7 of the lifecycle: what one unit writes to its span and to the metrics.

Each function records one lifecycle point of a :class:`~genops.lifecycle.GovernedUnit`
(decision, reservation, outcome, reconciliation, error), using only the names in
:mod:`genops.attributes`; its metrics are in :mod:`genops._unit_metrics`.
"""

from __future__ import annotations

import functools
import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span, Status, StatusCode

from genops import attributes as A
from genops.decision import PolicyDecision, PolicyViolationError
from genops.policy.base import Admission, BudgetAlert, BudgetState, Settlement
from genops.price_estimate import is_estimate
from genops.semconv import EVENT_OPERATION_DETAILS, cache_write_attribute
from genops.usage import Usage

if TYPE_CHECKING:
    from genops._labels import LabelSet
    from genops.attribution import Attribution
    from genops.lifecycle import GovernedUnit
    from genops.runtime import GenOps

#: The value recorded for team/project when no attribution exists (spec §9.1.8 forbids empty).
UNATTRIBUTED = "unattributed"


def error_type(error: BaseException) -> str:
    """The ``error.type`` value: the exception's module-qualified class name
    (``builtins`` dropped), e.g. ``openai.RateLimitError``, ``TimeoutError``."""
    cls = type(error)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def attribution_labels(runtime: GenOps, a: Attribution) -> dict[str, Any]:
    """team / project / environment (and customer, when enabled) metric labels."""
    labels: dict[str, Any] = {
        A.TEAM: a.team or UNATTRIBUTED,
        A.PROJECT: a.project or UNATTRIBUTED,
        A.ENVIRONMENT: a.environment or runtime.environment,
    }
    if runtime.customer_metric_label and a.customer_id:
        labels[A.CUSTOMER_ID] = a.customer_id
    return labels


def metric_labels(unit: GovernedUnit, response_model: str | None = None) -> dict[str, Any]:
    """Labels shared by every metric of the unit (no customer id unless enabled),
    capped by the runtime's cardinality guard. Shared: do not mutate."""
    return unit_label_set(unit, response_model).labels


def unit_label_set(unit: GovernedUnit, response_model: str | None = None) -> LabelSet:
    """The unit's metric labels (plus ``gen_ai.response.model`` when given), cached."""
    rt = unit.runtime
    a = unit.attribution
    customer = a.customer_id if rt.customer_metric_label else None
    key = (
        unit.gen_ai_operation,
        a.team,
        a.project,
        a.environment,
        customer,
        unit.provider,
        unit.model,
        response_model,
    )

    def build() -> dict[str, Any]:
        labels: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: unit.gen_ai_operation}
        labels.update(attribution_labels(rt, a))
        if unit.provider:
            labels[A.GEN_AI_PROVIDER_NAME] = unit.provider
        if unit.model:
            labels[A.GEN_AI_REQUEST_MODEL] = unit.model
        if response_model:
            labels[A.GEN_AI_RESPONSE_MODEL] = response_model
        return labels

    return rt.label_cache.get(key, build)


def decision_event(d: PolicyDecision) -> dict[str, Any]:
    """The attributes of one ``genops.policy.evaluated`` event (spec §8.1)."""
    ev: dict[str, Any] = {A.POLICY_RESULT: d.result.value}
    if d.reason_code is not None:
        ev[A.POLICY_REASON_CODE] = d.reason_code
    if d.policy_name:
        ev[A.POLICY_NAME] = d.policy_name
    if d.reason:
        ev[A.POLICY_REASON] = d.reason
    return ev


#: the decision event of a unit no policy objected to (built once)
_ALLOWED_EVENT = {A.POLICY_RESULT: "ALLOWED"}


def decisions(unit: GovernedUnit, admission: Admission) -> dict[str, Any]:
    """The unit's enforcement decision(s) as ``genops.policy.evaluated`` events; returns
    the winner's span attributes (the caller sets them with the next ones, in one call).

    One event per policy that objected (WARNING / BLOCKED / RATE_LIMITED: each is an
    enforcement decision with its reason code and policy), or — when none objected —
    one ALLOWED event for the unit. The policies that were evaluated are on the span:
    ``genops.policy.evaluated_count`` and ``genops.policy.evaluated_names``.
    """
    span = unit.span
    evaluated = admission.decisions or (admission.decision,)
    violations = [d for d in evaluated if d.reason_code is not None]
    winner = admission.decision
    if not violations:
        span.add_event(A.EVENT_POLICY_EVALUATED, _ALLOWED_EVENT)
    for d in violations:
        span.add_event(A.EVENT_POLICY_EVALUATED, decision_event(d))
    attrs = decision_event(winner)  # the winner's result, reason code, name, reason
    attrs[A.POLICY_TIMESTAMP] = winner.timestamp_ms or int(time.time() * 1000)
    attrs[A.POLICY_EVALUATED_COUNT] = len(admission.decisions)
    names = [d.policy_name for d in admission.decisions if d.policy_name]
    if names:
        attrs[A.POLICY_EVALUATED_NAMES] = names
    # One point per policy that objected (with its reason code and policy): "who was
    # warned/blocked, by which rule"; a unit no policy objected to counts once as
    # ALLOWED, so blocked / all is the blocked rate.
    label_set = unit_label_set(unit)
    counter = unit.runtime.instruments.decisions
    if not violations:
        counter.add(1, label_set.with_label(A.POLICY_RESULT, winner.result.value))
        return attrs
    labels = label_set.labels
    for d in violations:
        counter.add(
            1,
            {
                **labels,
                A.POLICY_RESULT: d.result.value,
                A.POLICY_REASON_CODE: d.reason_code,
                **({A.POLICY_NAME: d.policy_name} if d.policy_name else {}),
            },
        )
    return attrs


def reservation(unit: GovernedUnit, admission: Admission, decided: Mapping[str, Any]) -> None:
    """The reservation attributes (set with the decision's, ``decided``, in one call) and
    the ``genops.budget.reservation`` event."""
    span = unit.span
    ev: dict[str, Any] = {
        A.ACCOUNTING_RESERVED: admission.reserved,
        A.ACCOUNTING_UNIT: admission.unit,
    }
    span.set_attributes({**decided, **ev})
    if admission.budget is not None:
        # (the span's genops.budget.* attributes are written once, by reconciliation:
        # only their final values are exported)
        ev[A.BUDGET_NAME] = admission.budget.name
        ev[A.BUDGET_REMAINING] = admission.budget.remaining
    span.add_event(A.EVENT_BUDGET_RESERVATION, ev)
    alerts(unit, admission.alerts)
    budget_gauges(unit, admission.budgets)


def budget(attrs: dict[str, Any], state: BudgetState) -> None:
    """Add the ``genops.budget.*`` attributes of the budget the unit counts against."""
    attrs[A.BUDGET_NAME] = state.name
    attrs[A.BUDGET_ALLOCATED] = state.allocated
    attrs[A.BUDGET_CONSUMED] = state.consumed
    attrs[A.BUDGET_REMAINING] = state.remaining
    attrs[A.BUDGET_PERIOD] = state.period


def budget_gauges(unit: GovernedUnit, states: Sequence[BudgetState]) -> None:
    """``genops.budget.consumed`` / ``remaining`` / ``utilization`` per budget instance
    (labels: budget name, scope, unit; the window is not a label, so a new window
    replaces the old series instead of leaving a stale one).

    The gauges are observable: this stores the values (one dict write per budget) and
    each metric collection reports the latest ones.
    """
    if not states:
        return
    store = unit.runtime.instruments.budget_values
    cache = unit.runtime.label_cache
    for state in states:
        key = ("budget", state.name, state.scope, state.unit)
        labels = cache.get(key, functools.partial(_budget_labels, state)).labels
        utilization = state.consumed / state.allocated if state.allocated > 0 else None
        store.set(key, labels, (state.consumed, state.remaining, utilization))


def _budget_labels(state: BudgetState) -> dict[str, Any]:
    return {A.BUDGET_NAME: state.name, A.BUDGET_SCOPE: state.scope, A.BUDGET_UNIT: state.unit}


def alerts(unit: GovernedUnit, crossed: Sequence[BudgetAlert]) -> None:
    """A ``genops.budget.alert`` event and count per threshold crossed."""
    for alert in crossed:
        unit.span.add_event(
            A.EVENT_BUDGET_ALERT,
            {
                A.BUDGET_NAME: alert.name,
                A.BUDGET_CONSUMED: alert.consumed,
                A.BUDGET_ALLOCATED: alert.allocated,
                A.BUDGET_PERIOD: alert.period,
                A.BUDGET_THRESHOLD: alert.threshold,
                A.BUDGET_WINDOW: alert.window,
            },
        )
        unit.runtime.instruments.budget_alerts.add(
            1, {A.BUDGET_NAME: alert.name, A.BUDGET_THRESHOLD: alert.threshold}
        )


def outcome(
    unit: GovernedUnit,
    usage: Usage | None,
    cost: Decimal | None,
    price_source: str | None,
    price_version: str | None,
    attrs: dict[str, Any],
) -> None:
    """Add the response model, token usage, time to first chunk and cost attributes."""
    if unit.response_model:
        attrs[A.GEN_AI_RESPONSE_MODEL] = unit.response_model
    if usage is not None:
        attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
        attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
        if usage.cache_read_tokens:
            attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
        if usage.cache_write_tokens:
            attrs[cache_write_attribute(unit.runtime.semconv_latest)] = usage.cache_write_tokens
        if usage.reasoning_tokens:
            attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
        attrs[A.TOKENS_INPUT] = usage.input_tokens
        attrs[A.TOKENS_OUTPUT] = usage.output_tokens
        attrs[A.TOKENS_TOTAL] = usage.total_tokens
    if unit.first_chunk_s is not None:
        attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = unit.first_chunk_s
    cost_model = unit.response_model or unit.model
    if cost is not None:
        attrs[A.COST_TOTAL] = float(cost)
        attrs[A.COST_CURRENCY] = "USD"
        if unit.provider:
            attrs[A.COST_PROVIDER] = unit.provider
        if cost_model:
            attrs[A.COST_MODEL] = cost_model
        if price_source:
            attrs[A.COST_PRICE_SOURCE] = price_source
            attrs[A.COST_PRICE_VERSION] = price_version or ""
            if is_estimate(price_source):
                attrs[A.COST_ESTIMATED] = True
    elif unit.cost_bearing:
        attrs[A.COST_UNKNOWN] = True
    # (no genops.cost.calculated event: it is OPTIONAL (spec §8.4) and would repeat the
    # genops.cost.* attributes above on every unit)


def reconciliation(
    unit: GovernedUnit,
    admission: Admission,
    settlement: Settlement | None,
    actual: float,
    incomplete: bool,
) -> dict[str, Any]:
    """The ``genops.budget.reconciliation`` event; returns the span attributes
    (``genops.accounting.actual``, delta, budget) for the caller to set in one call."""
    span = unit.span
    delta = actual - admission.reserved
    ev: dict[str, Any] = {
        A.ACCOUNTING_ACTUAL: actual,
        A.ACCOUNTING_RESERVED: admission.reserved,
        A.ACCOUNTING_UNIT: admission.unit,
        A.ACCOUNTING_RECONCILIATION_DELTA: delta,
    }
    if incomplete:
        ev[A.ACCOUNTING_INCOMPLETE] = True
    attrs = {k: v for k, v in ev.items() if k not in (A.ACCOUNTING_RESERVED, A.ACCOUNTING_UNIT)}
    state = settlement.budget if settlement and settlement.budget else admission.budget
    if state is not None:
        ev[A.BUDGET_NAME] = state.name
        budget(attrs, state)
    span.add_event(A.EVENT_BUDGET_RECONCILIATION, ev)
    if settlement is not None:
        alerts(unit, settlement.alerts)
        budget_gauges(unit, settlement.budgets)
    return attrs


def error(
    span: Span,
    exc: BaseException,
    *,
    exception_event: bool = True,
    redact: Callable[[str], str] | None = None,
) -> None:
    """``error.type``, ERROR status and (for provider/app errors) the ``exception`` event.

    Exception text may carry a provider's error body or a tool's input, so the status
    description, ``exception.message`` and ``exception.stacktrace`` hold the message
    scrubbed and bounded by :func:`genops.scrub.exception_message` (and ``redact``, a
    content policy's redactor), never the raw text. The stack trace keeps the frames
    (file, line, function, source line) — code, not data.
    """
    kind = error_type(exc)
    span.set_attribute(A.ERROR_TYPE, kind)
    if isinstance(exc, PolicyViolationError):  # our own message: the decision's reason
        span.set_status(Status(StatusCode.ERROR, str(exc)[:1024]))
        return
    from genops import scrub  # (loads on the first error)

    message = scrub.exception_message(exc, redact)
    span.set_status(Status(StatusCode.ERROR, message or type(exc).__name__))
    if exception_event:
        frames = "".join(traceback.format_tb(exc.__traceback__))
        qualname = f"{type(exc).__module__}.{type(exc).__qualname__}"
        trace = f"Traceback (most recent call last):\n{frames}{qualname}: {message}"
        if len(trace) > scrub.MAX_STACKTRACE:
            trace = "…" + trace[-(scrub.MAX_STACKTRACE - 1) :]
        span.add_event(
            "exception",
            {
                "exception.type": qualname,
                "exception.message": message,
                "exception.stacktrace": trace,
            },
        )


def content(unit: GovernedUnit, input_messages: Any, output_messages: Any) -> None:
    """Message content where the capture mode says (span attributes and/or an event)."""
    mode = unit.runtime.content_capture
    attrs: dict[str, Any] = {}
    if input_messages is not None:
        attrs[A.GEN_AI_INPUT_MESSAGES] = to_json(input_messages, unit.redact)
    if output_messages is not None:
        attrs[A.GEN_AI_OUTPUT_MESSAGES] = to_json(output_messages, unit.redact)
    if not attrs:
        return
    if mode.on_span:
        unit.span.set_attributes(attrs)
    if mode.as_event:
        unit.span.add_event(EVENT_OPERATION_DETAILS, attrs)


def reconciled_amount(
    admission: Admission,
    cost: Decimal | None,
    usage: Usage | None,
    error: BaseException | None,
) -> tuple[float, bool]:
    """``(genops.accounting.actual, incomplete)`` in the unit the reservation used.

    Without a measured value the reservation is the best available data (spec §3.5)
    and the record is flagged incomplete; a failed call that reported no usage was
    not billed and reconciles to 0.
    """
    if admission.unit == "USD":
        if cost is not None:
            return float(cost), False
        if error is not None and usage is None:
            return 0.0, False
        return admission.reserved, True
    if usage is not None:
        return float(usage.total_tokens), False
    if error is not None:
        return 0.0, False
    return admission.reserved, True


def hex_id(span: Span, *, trace: bool) -> str | None:
    """The span's trace or span id as lowercase hex (for audit records); None if invalid."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x") if trace else format(ctx.span_id, "016x")


def default_gen_ai_operation(operation_type: str) -> str:
    return {
        "inference": A.OP_CHAT,
        "chat": A.OP_CHAT,
        "completion": A.OP_TEXT_COMPLETION,
        "embedding": A.OP_EMBEDDINGS,
        "tool": A.OP_EXECUTE_TOOL,
        "agent": A.OP_INVOKE_AGENT,
        "workflow": A.OP_INVOKE_WORKFLOW,
        "retrieval": A.OP_RETRIEVAL,
    }.get(operation_type, operation_type)


def to_json(value: Any, redact: Any) -> str:
    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return redact(v) if redact else v
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x) for x in v]
        return v

    return json.dumps(walk(value), default=str, ensure_ascii=False)
