"""The governed-unit lifecycle: one AI Workload Unit (GenOps spec §2) from start to end.

    attribution → policy decision → reservation → execution → usage → cost
    → reconciliation → span attributes, events and metrics

Every integration drives this class; none re-implements a step. As a context
manager (sync or async)::

    estimate = genops.RequestEstimate(input_tokens=900, max_output_tokens=300)
    with genops.governed("support-reply", provider="openai", model="gpt-4o-mini",
                         request=estimate) as unit:
        response = client.chat.completions.create(...)
        unit.record_usage(raw=response.usage, response_model=response.model)

Callback-style adapters (framework hooks, streams) call :meth:`GovernedUnit.start`
and later :meth:`GovernedUnit.finish`, which runs **exactly once**.

A unit that is BLOCKED or RATE_LIMITED raises :class:`~genops.PolicyViolationError`
from ``start()``/``__enter__`` — before anything is sent — and emits only the
``genops.policy.evaluated`` event(s) (spec §7.2.1).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from genops import _record, _safety, _unit_metrics, price_estimate
from genops import attributes as A
from genops import sla as _sla
from genops._record import UNATTRIBUTED, error_type
from genops.attribution import Attribution, resolve_attribution
from genops.claims import Claim, current_claim, reset_claim, set_claim
from genops.decision import PolicyDecision, PolicyViolationError
from genops.estimate import RequestEstimate
from genops.policy.base import Admission, Estimate, PolicyEngine, UnitRequest
from genops.rollup import Rollup, current_rollup, pop_rollup, push_rollup
from genops.usage import Usage

if TYPE_CHECKING:
    from genops.runtime import GenOps


#: Unit roles (spec: an AI Workload Unit either bears the cost of one provider call, or
#: is a parent that rolls up the cost of the units beneath it). Chosen by the caller.
ROLE_CALL = "call"
ROLE_ROLLUP = "rollup"
_ROLES = frozenset({ROLE_CALL, ROLE_ROLLUP})

_OPERATION_TYPES = frozenset(
    {
        "inference",
        "embedding",
        "completion",
        "chat",
        "tool",
        "agent",
        "retrieval",
        "workflow",
        "fine_tune",
        "rerank",
        "image",
        "audio",
        "moderation",
        "batch",
        "function",
    }
)


def covering_unit() -> GovernedUnit | None:
    """The open unit that owns the cost of provider calls made now, if any.

    The owner of :func:`genops.adapter.current_claim`; SDK-level instrumentation
    should account through the claim itself (``claim.add_provider_call``), which
    also tells a framework run whether the SDK layer already counted its call.
    """
    claim = current_claim()
    return claim.owner if claim is not None else None


_NO_REQUEST = RequestEstimate()


@dataclass(slots=True)
class _ProviderCall:
    usage: Usage
    provider: str | None
    model: str | None
    cost: Decimal | None


class GovernedUnit:
    """One AI Workload Unit. Create with :func:`genops.governed`."""

    def __init__(
        self,
        runtime: GenOps,
        operation_name: str,
        *,
        operation_type: str = "inference",
        provider: str | None = None,
        model: str | None = None,
        request: RequestEstimate | None = None,
        gen_ai_operation: str | None = None,
        kind: SpanKind | None = None,
        attributes: dict[str, Any] | None = None,
        region: str | None = None,
        parent: otel_context.Context | Span | None = None,
        rollup: Rollup | None = None,
        attribution: Attribution | None = None,
        span_name: str | None = None,
        only_policies: frozenset[str] | None = None,
        metadata: dict[str, Any] | None = None,
        role: str | None = None,
        sla: _sla.SLA | None = None,
    ) -> None:
        if not isinstance(operation_name, str) or not operation_name.strip():
            raise ValueError("operation_name must be a non-empty string")
        if not isinstance(operation_type, str) or operation_type not in _OPERATION_TYPES:
            raise ValueError(
                f"operation_type must be one of {sorted(_OPERATION_TYPES)}, got {operation_type!r}"
            )
        if provider is not None and not isinstance(provider, str):
            raise TypeError("provider must be a str or None")
        if model is not None and not isinstance(model, str):
            raise TypeError("model must be a str or None")
        if request is not None and not isinstance(request, RequestEstimate):
            raise TypeError("request must be a genops.RequestEstimate")
        if sla is not None and not isinstance(sla, _sla.SLA):
            raise TypeError("sla must be a genops.SLA or None")
        if role is not None and role not in _ROLES:
            raise ValueError(f"role must be one of {sorted(_ROLES)} or None, got {role!r}")
        #: True for a cost-bearing provider call, False for a roll-up parent
        #: (``role=None``: a call when a model is given — the ``governed()`` default).
        self.cost_bearing = role == ROLE_CALL if role is not None else bool(model)
        self._rt = runtime
        self.operation_name = operation_name
        self.operation_type = operation_type
        self.provider = provider
        self.model = model
        self.request = request or _NO_REQUEST
        self.gen_ai_operation = gen_ai_operation or _record.default_gen_ai_operation(operation_type)
        self._kind = (
            kind
            if kind is not None
            else (SpanKind.CLIENT if self.cost_bearing else SpanKind.INTERNAL)
        )
        self._extra = attributes
        self.region = region
        self._parent = parent
        self._rollup = rollup
        self._attribution_override = attribution
        self._span_name = span_name
        self._only = only_policies
        self._metadata = metadata or {}
        self._sla_own = sla
        #: the SLA the unit is held to once started (genops.sla), else None
        self.sla: _sla.Bound | None = None
        #: the policy engine that admitted the unit: it settles it too, even when the
        #: runtime's policies were reloaded meanwhile (spec §4.3)
        self.admitted_by: PolicyEngine | None = None

        self.span: Span = trace.INVALID_SPAN
        self.attribution: Attribution = Attribution()
        self.admission: Admission | None = None
        self.response_model: str | None = None
        self._reported: Usage | None = None
        self._calls: list[_ProviderCall] = []
        self._state = 0  # 0 new, 1 running, 2 finished
        self._lock = threading.Lock()
        self._t0 = 0.0
        self._first_chunk_s: float | None = None
        self._claim: Claim | None = None
        self._claim_token: contextvars.Token[Claim | None] | None = None
        self._rollup_token: contextvars.Token[Rollup | None] | None = None
        #: For units without a model (a decorated function, a workflow): the roll-up
        #: of the provider-call units beneath it. ``None`` for provider-call units.
        self.rollup: Rollup | None = None
        self._otel_token: object | None = None

    # ------------------------------------------------------------------ properties
    @property
    def runtime(self) -> GenOps:
        """The runtime this unit records to."""
        return self._rt

    @property
    def extra_attributes(self) -> dict[str, Any]:
        """The span attributes the adapter passed at creation (e.g. ``gen_ai.agent.name``)."""
        return self._extra or {}

    @property
    def first_chunk_s(self) -> float | None:
        """Seconds from start to the first streamed chunk, once recorded."""
        return self._first_chunk_s

    @property
    def provider_calls(self) -> int:
        """Provider calls added by SDK instrumentation underneath this unit."""
        return len(self._calls)

    @property
    def is_open(self) -> bool:
        """True between a successful start and finish."""
        return self._state == 1

    @property
    def decision(self) -> PolicyDecision | None:
        """The winning decision once started."""
        return self.admission.decision if self.admission else None

    @property
    def redact(self) -> Any:
        """The redaction function content policies asked for, else ``None``."""
        return self.admission.redact if self.admission else None

    @property
    def usage(self) -> Usage | None:
        """Usage so far: the provider calls' sum if any, else what the framework reported."""
        if self._calls:
            total = Usage()
            for call in self._calls:
                total = total + call.usage
            return total
        return self._reported

    # ------------------------------------------------------------------ start
    def start(self, *, activate: bool = False) -> GovernedUnit:
        """Pre-execution phase. Raises :class:`PolicyViolationError` when not allowed.

        ``activate=True`` (used by the context-manager form) makes the span current
        and this unit the cost owner of provider calls in this context.
        """
        if self._state != 0:
            raise RuntimeError("a governed unit can only be started once")
        rt = self._rt
        self._state = 1
        self._t0 = time.perf_counter()
        decided: dict[str, Any] = {}
        try:
            attribution = self._resolve_attribution()
            self.attribution = attribution
            estimate = self._estimate()
            span = self._start_span(attribution)
            self.span = span
            if self._rollup is None:
                self._rollup = current_rollup()  # captured now: finish may run elsewhere
            if not self.cost_bearing:
                self.rollup = Rollup(span, parent=self._rollup)
            request = UnitRequest(
                attribution=attribution,
                operation_name=self.operation_name,
                operation_type=self.operation_type,
                provider=self.provider,
                model=self.model,
                estimate=estimate,
                region=self.region,
                content=tuple(self.request.texts),
                metadata=self._metadata,
                only_policies=self._only,
                trace_id=_record.hex_id(span, trace=True),
                span_id=_record.hex_id(span, trace=False),
            )
            engine = self.admitted_by = rt.engine
            admission = engine.admit(request)
            self.admission = admission
            self.sla = _sla.resolve(self._sla_own, engine, request)
            decided = _record.decisions(self, admission)
        except Exception as exc:
            # Instrumentation failure before execution: never block the app for our bug.
            _safety.report(exc, "governed unit start")
            if self.admission is None:
                self.admission = Admission()
        admission = self.admission
        if not admission.decision.proceeds:
            self._state = 2
            error = PolicyViolationError(admission.decision, operation_name=self.operation_name)
            with _safety.guard("governed unit block"):
                self.span.set_attributes({**decided, A.ERROR_TYPE: error_type(error)})
                self.span.set_status(Status(StatusCode.ERROR, str(error)))
                self.span.end()
            try:
                raise error
            finally:  # the traceback holds this frame: without the name, no cycle
                del error
        with _safety.guard("governed unit reservation"):
            _record.reservation(self, admission, decided)
        if activate:
            self.activate()
        return self

    def claim(self, *, issuer: object | None = None) -> Claim:
        """The claim on this unit that the SDK layer beneath it accounts through.

        One claim per unit (created on first use; ``issuer`` — the adapter that opened
        the unit, ``None`` for the user's own — is fixed then). See :mod:`genops.claims`.
        A finished unit lets go of its claim (claim and unit refer to each other: kept,
        the pair would wait for the garbage collector) and hands out closed ones.
        """
        if self._claim is None:
            claim = Claim(self, issuer=issuer)
            if self._state == 2:
                claim.close()
                return claim
            self._claim = claim
        return self._claim

    def activate(self) -> None:
        """Make this unit's span current in this context, and (a cost-bearing unit) the
        owner of provider calls made inside it — also of framework runs started inside
        it — or (a roll-up parent) the roll-up target of the units inside it."""
        if self.cost_bearing:
            claim = self.claim()
            previous = current_claim()
            if previous is not claim:
                claim.previous = previous
            self._claim_token = set_claim(claim)
        elif self.rollup is not None:
            self._rollup_token = push_rollup(self.rollup)
        if self.span is not trace.INVALID_SPAN:
            self._otel_token = otel_context.attach(trace.set_span_in_context(self.span))

    def _deactivate(self) -> None:
        if self._rollup_token is not None:
            pop_rollup(self._rollup_token)
            self._rollup_token = None
        if self._otel_token is not None:
            try:
                otel_context.detach(self._otel_token)  # type: ignore[arg-type]
            except Exception as exc:
                _safety.report(exc, "governed unit context detach")
            self._otel_token = None
        if self._claim_token is not None:
            reset_claim(self._claim_token)  # tolerates another context (a stream closed elsewhere)
            self._claim_token = None

    def _resolve_attribution(self) -> Attribution:
        attribution = resolve_attribution(self._rt.defaults)
        if self._attribution_override is not None:
            attribution = self._attribution_override.over(attribution)
        return attribution

    def _estimate(self) -> Estimate:
        input_tokens = self.request.input_token_estimate()
        max_out = self.request.max_output_tokens
        if max_out is None:
            max_out = self._rt.default_max_output_tokens if self.cost_bearing else 0
        cost = estimated = None
        if not self.cost_bearing:
            cost = Decimal(0)
        elif self.model:
            pricing = self._rt.prices.lookup(self.provider, self.model)
            if pricing is not None:
                cost = pricing.max_cost(input_tokens, max_out)
            else:  # unknown price: the bound at an estimated price, if there is one
                guess = self._rt.prices.estimate(self.provider, self.model)
                estimated = guess.max_cost(input_tokens, max_out) if guess else None
        return Estimate(
            input_tokens=input_tokens,
            max_output_tokens=max_out,
            cost_usd=cost,
            estimated_cost_usd=estimated,
        )

    def _start_span(self, attribution: Attribution) -> Span:
        rt = self._rt
        name = self._span_name or (
            f"{self.gen_ai_operation} {self.model}" if self.model else self.gen_ai_operation
        )
        parent = self._parent
        if isinstance(parent, Span):
            parent = trace.set_span_in_context(parent)
        # The start attributes are built once per (operation, provider, model, attribution,
        # extras) and passed whole to start_span (which copies them). Types are in the
        # key: True == 1 == 1.0 must not share one cached attribute.
        extra = tuple((k, type(v), v) for k, v in self._extra.items()) if self._extra else ()
        key = (
            self.gen_ai_operation,
            self.operation_name,
            self.operation_type,
            self.provider,
            self.model,
            self.request.max_output_tokens,
            attribution,
            extra,
        )
        attrs = rt.span_attribute_cache.get(key, lambda: self._start_attributes(attribution))
        return rt.instruments.tracer.start_span(
            name, context=parent, kind=self._kind, attributes=attrs
        )

    def _start_attributes(self, attribution: Attribution) -> dict[str, Any]:
        rt = self._rt
        attrs: dict[str, Any] = dict(rt.static_attributes)
        attrs[A.GEN_AI_OPERATION_NAME] = self.gen_ai_operation
        attrs[A.OPERATION_NAME] = self.operation_name
        attrs[A.OPERATION_TYPE] = self.operation_type
        if self.provider:
            attrs[A.GEN_AI_PROVIDER_NAME] = self.provider
        if self.model:
            attrs[A.GEN_AI_REQUEST_MODEL] = self.model
        if self.request.max_output_tokens is not None and self.gen_ai_operation != A.OP_EMBEDDINGS:
            # (embeddings produce no output tokens: their 0 is a reservation input only)
            attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = self.request.max_output_tokens
        attrs.update(attribution.span_attributes())
        attrs.setdefault(A.TEAM, UNATTRIBUTED)
        attrs.setdefault(A.PROJECT, UNATTRIBUTED)
        if self._extra:
            attrs.update(self._extra)
        return attrs

    # ------------------------------------------------------------------ execution
    def record_usage(
        self,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        raw: Any = None,
        response_model: str | None = None,
    ) -> None:
        """Record the usage of the unit (replaces earlier reported usage).

        Pass token counts, or ``raw=`` a provider usage object/dict (OpenAI,
        Anthropic, LangChain, Bedrock, Gemini shapes), see :meth:`Usage.from_provider`.
        """
        if raw is not None:
            usage = Usage.from_provider(raw)
        elif input_tokens is None and output_tokens is None:
            raise ValueError("record_usage needs input_tokens/output_tokens or raw=")
        else:
            usage = Usage(
                input_tokens=input_tokens or 0,
                output_tokens=output_tokens or 0,
                cache_read_tokens=cache_read_tokens,
                cache_write_tokens=cache_write_tokens,
                reasoning_tokens=reasoning_tokens,
            )
        if response_model:
            self.response_model = response_model
        if usage is not None:
            self._reported = usage

    def add_provider_call(
        self, usage: Usage | None, *, provider: str | None = None, model: str | None = None
    ) -> None:
        """Add one provider call made inside this unit (SDK layer under a framework span).

        Each call is priced with its own provider/model, so a unit that calls two
        models is costed right.
        """
        if usage is None:
            return
        provider = provider or self.provider
        model = model or self.response_model or self.model
        cost = self._rt.prices.cost(provider, model, usage)
        with self._lock:
            self._calls.append(_ProviderCall(usage, provider, model, cost))

    def set_response(
        self,
        *,
        model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] | None = None,
    ) -> None:
        """Record response metadata (semconv ``gen_ai.response.*``)."""
        if model:
            self.response_model = model
        if response_id:
            self.span.set_attribute(A.GEN_AI_RESPONSE_ID, response_id)
        if finish_reasons:
            self.span.set_attribute(A.GEN_AI_RESPONSE_FINISH_REASONS, list(finish_reasons))

    def record_first_chunk(self) -> None:
        """Mark the arrival of the first streamed chunk (first call wins)."""
        if self._first_chunk_s is None:
            self._first_chunk_s = time.perf_counter() - self._t0

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        """Extra span attributes from the adapter."""
        self.span.set_attributes(attributes)

    def record_content(self, *, input_messages: Any = None, output_messages: Any = None) -> None:
        """Record prompts/responses — only when content capture is enabled (opt-in), on the
        span and/or a ``gen_ai.client.inference.operation.details`` event per the capture
        mode (:class:`genops.semconv.ContentCapture`).

        Strings inside are passed through the content policy's redaction first.
        """
        if not self._rt.capture_content:
            return
        _record.content(self, input_messages, output_messages)

    # ------------------------------------------------------------------ finish
    def finish(self, error: BaseException | None = None) -> None:
        """Post-execution phase: cost, reconciliation, telemetry; runs exactly once."""
        with self._lock:
            if self._state != 1:
                return
            self._state = 2
        self._deactivate()
        claim, self._claim = self._claim, None  # no unit ↔ claim cycle left behind
        if claim is not None:
            claim.close()  # a bound claim hands over now: the context keeps no unit alive
        try:
            self._finish(error)
        except Exception as exc:
            _safety.report(exc, "governed unit finish")
            with _safety.guard("governed unit end span"):
                self.span.end()

    def _cost(self) -> tuple[Decimal | None, str | None, str | None]:
        """(cost, price source, price version) of what was used; cost None if unknown —
        or, under ``on_unknown_price: estimate``, estimated (:mod:`genops.price_estimate`)."""
        known = self._known_cost()
        if known[0] is not None or not self.cost_bearing:
            return known
        if not price_estimate.applies(self._rt, self.admission):
            return known
        calls = [(c.usage, c.provider, c.model) for c in self._calls]
        if not calls and self._reported is not None:
            calls = [(self._reported, self.provider, self.response_model or self.model)]
        return price_estimate.cost(self._rt.prices, calls, self.model)

    def _known_cost(self) -> tuple[Decimal | None, str | None, str | None]:
        if self._calls:
            total = Decimal(0)
            for call in self._calls:
                if call.cost is None:
                    return None, None, None
                total += call.cost
            last = self._calls[-1]
            pricing = self._rt.prices.lookup(last.provider, last.model)
            return total, pricing.source if pricing else None, pricing.version if pricing else None
        usage = self._reported
        if usage is None:
            return (Decimal(0), None, None) if not self.cost_bearing else (None, None, None)
        for model in (self.response_model, self.model):
            pricing = self._rt.prices.lookup(self.provider, model) if model else None
            if pricing is not None:
                return pricing.cost(usage), pricing.source, pricing.version
        return None, None, None

    def _finish(self, error: BaseException | None) -> None:
        rt = self._rt
        admission = self.admission or Admission()
        usage = self.usage
        cost, price_source, price_version = self._cost()
        duration = time.perf_counter() - self._t0
        actual, incomplete = _record.reconciled_amount(admission, cost, usage, error)
        settlement = None
        engine = self.admitted_by or rt.engine
        try:
            if usage is None and (error is not None or not self.cost_bearing):
                engine.release(admission)
            else:
                settlement = engine.settle(admission, cost_usd=cost, usage=usage)
        except Exception as exc:
            _safety.report(exc, "budget reconciliation")
        attrs = _record.reconciliation(self, admission, settlement, actual, incomplete)
        _record.outcome(self, usage, cost, price_source, price_version, attrs)
        self.span.set_attributes(attrs)
        if error is not None:
            _record.error(self.span, error, redact=self.redact)
        estimated = price_estimate.is_estimate(price_source)
        _unit_metrics.record(self, usage, cost, duration, error, estimated=estimated)
        if self.sla is not None:
            with _safety.guard("sla"):
                _sla.record(self, self.sla, duration)
        if self.rollup is not None:
            self.rollup.close()
        elif self.cost_bearing and self._rollup is not None:
            self._rollup.add(
                cost, usage.input_tokens if usage else 0, usage.output_tokens if usage else 0
            )
        self.span.end()

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> GovernedUnit:
        return self.start(activate=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(exc)

    async def __aenter__(self) -> GovernedUnit:
        return self.start(activate=True)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(exc)
