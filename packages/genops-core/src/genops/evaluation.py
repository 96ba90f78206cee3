"""Quality and safety evaluations of units: :func:`record_evaluation`.

::

    with genops.governed("answer", provider="openai", model="gpt-4o-mini") as unit:
        answer = client.chat.completions.create(...)
    verdict = judge(question, answer)                     # any evaluator, any time later
    genops.record_evaluation("faithfulness", verdict.score, passed=verdict.passing,
                             explanation=verdict.feedback, unit=unit)

Each evaluation emits two span events with the same content — ``genops.evaluation.complete``
(``genops.eval.metric`` / ``score`` / ``threshold`` / ``passed``, spec §8.4) and the OTel
GenAI ``gen_ai.evaluation.result`` (``gen_ai.evaluation.name``, ``.score.value``,
``.score.label``, ``.explanation``, ``gen_ai.response.id``) — and records the
``genops.evaluation.score`` histogram (and ``genops.evaluation.results`` by pass/fail)
labelled by metric, team, project, environment, provider and model, through the
cardinality guard.

**Where the events go.** A finished span cannot take events, so:

- the target unit (``unit=``) is still open, or no target is given and a span is
  current → the events are added to that span;
- the unit has finished, or ``span_context=`` names a span (e.g. one from another
  process) → a zero-length span ``evaluation {metric}`` is started **as a child of the
  evaluated span** and carries the events (the semantic conventions: the event SHOULD be
  parented to the operation it evaluates), plus ``genops.eval.*``, the attribution and
  ``gen_ai.response.id``. It is not an AI Workload Unit (no ``genops.spec.version``): it
  costs nothing and governs nothing; it is scoped to the unit it is a child of;
- nothing at all → the same span as a root, correlated by ``gen_ai.response.id``.

``passed`` left ``None`` with a ``threshold`` is ``score >= threshold`` (pass
``passed=`` yourself for lower-is-better metrics). ``type: evaluation`` policies
(:class:`~genops.policy.slo.EvaluationPolicy`) learn from every evaluation of their
metric in their scope.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind

from genops import _safety
from genops import attributes as A
from genops._record import UNATTRIBUTED
from genops._version import __version__
from genops.attribution import Attribution, resolve_attribution
from genops.policy.base import Enforcement, Estimate, UnitRequest
from genops.policy.slo import EvaluationPolicy
from genops.runtime import get_runtime

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram

    from genops.lifecycle import GovernedUnit
    from genops.runtime import GenOps

__all__ = ["Evaluation", "record_evaluation"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What :func:`record_evaluation` recorded, and on which span."""

    metric: str
    score: float
    passed: bool | None
    threshold: float | None
    #: the span that carries the events (the unit's, the current one, or the new child)
    span_context: SpanContext


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return number


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string or None")
    return value


def record_evaluation(
    metric: str,
    score: float,
    *,
    passed: bool | None = None,
    threshold: float | None = None,
    unit: GovernedUnit | None = None,
    span_context: SpanContext | None = None,
    explanation: str | None = None,
    label: str | None = None,
    response_id: str | None = None,
    model: str | None = None,
    provider: str | None = None,
) -> Evaluation:
    """Attach one evaluation result to a unit (open or finished), a span, or the current
    span (see the module docs for where the events go).

    ``label`` defaults to ``"pass"`` / ``"fail"`` when ``passed`` is known; ``model`` /
    ``provider`` / ``response_id`` default to the unit's. Raises ``ValueError`` /
    ``TypeError`` for bad arguments; telemetry problems are internal errors (logged,
    counted, never raised in production).
    """
    name = _text(metric, "metric")
    assert name is not None
    value = _number(score, "score")
    limit = None if threshold is None else _number(threshold, "threshold")
    if passed is not None and not isinstance(passed, bool):
        raise TypeError("passed must be a bool or None")
    if passed is None and limit is not None:
        passed = value >= limit
    if unit is not None and span_context is not None:
        raise TypeError("pass unit= or span_context=, not both")
    explanation = _text(explanation, "explanation")
    label = _text(label, "label") or (None if passed is None else ("pass" if passed else "fail"))
    rt = unit.runtime if unit is not None else get_runtime()
    target = _Target.find(rt, unit, span_context, model, provider, _text(response_id, "id"))
    events = _events(name, value, limit, passed, label, explanation, target.response_id)
    carrier: Span | None = None
    with _safety.guard("record evaluation"):
        carrier = target.write(rt, name, events)
        _metrics(rt, target, name, value, passed)
        _feed(rt, target, name, value, passed)
    ctx = carrier.get_span_context() if carrier is not None else trace.INVALID_SPAN_CONTEXT
    return Evaluation(name, value, passed, limit, ctx)


def _events(
    metric: str,
    score: float,
    threshold: float | None,
    passed: bool | None,
    label: str | None,
    explanation: str | None,
    response_id: str | None,
) -> list[tuple[str, dict[str, Any]]]:
    genops_event: dict[str, Any] = {A.EVAL_METRIC: metric, A.EVAL_SCORE: score}
    if threshold is not None:
        genops_event[A.EVAL_THRESHOLD] = threshold
    if passed is not None:
        genops_event[A.EVAL_PASSED] = passed
    otel_event: dict[str, Any] = {
        A.GEN_AI_EVALUATION_NAME: metric,
        A.GEN_AI_EVALUATION_SCORE_VALUE: score,
    }
    if label is not None:
        otel_event[A.GEN_AI_EVALUATION_SCORE_LABEL] = label
    if explanation is not None:
        otel_event[A.GEN_AI_EVALUATION_EXPLANATION] = explanation
    if response_id is not None:
        otel_event[A.GEN_AI_RESPONSE_ID] = response_id
    return [
        (A.EVENT_EVALUATION_COMPLETE, genops_event),
        (A.EVENT_GEN_AI_EVALUATION_RESULT, otel_event),
    ]


@dataclass(slots=True)
class _Target:
    """The evaluated thing: a span to write on (or a parent for a new one) and its facts."""

    open_span: Span | None
    parent: SpanContext | None
    attribution: Attribution
    model: str | None
    provider: str | None
    response_id: str | None
    unit: GovernedUnit | None

    @classmethod
    def find(
        cls,
        rt: GenOps,
        unit: GovernedUnit | None,
        span_context: SpanContext | None,
        model: str | None,
        provider: str | None,
        response_id: str | None,
    ) -> _Target:
        if unit is not None:
            span = unit.span
            attrs = _attributes(span)
            open_span = span if unit.is_open and span.is_recording() else None
            ctx = span.get_span_context()
            return cls(
                open_span,
                ctx if ctx.is_valid else None,
                unit.attribution,
                model or unit.model,
                provider or unit.provider,
                response_id or _str(attrs.get(A.GEN_AI_RESPONSE_ID)),
                unit,
            )
        if span_context is not None:
            parent = span_context if span_context.is_valid else None
            return cls(
                None, parent, resolve_attribution(rt.defaults), model, provider, response_id, None
            )
        current = trace.get_current_span()
        attrs = _attributes(current)
        attribution = resolve_attribution(rt.defaults)
        if attrs.get(A.TEAM) or attrs.get(A.PROJECT):
            attribution = Attribution(
                team=_str(attrs.get(A.TEAM)),
                project=_str(attrs.get(A.PROJECT)),
                environment=_str(attrs.get(A.ENVIRONMENT)),
            ).over(attribution)
        return cls(
            current if current.is_recording() else None,
            None,
            attribution,
            model or _str(attrs.get(A.GEN_AI_REQUEST_MODEL)),
            provider or _str(attrs.get(A.GEN_AI_PROVIDER_NAME)),
            response_id or _str(attrs.get(A.GEN_AI_RESPONSE_ID)),
            None,
        )

    def write(self, rt: GenOps, metric: str, events: list[tuple[str, dict[str, Any]]]) -> Span:
        if self.open_span is not None:
            for name, event in events:
                self.open_span.add_event(name, event)
            return self.open_span
        context = (
            trace.set_span_in_context(NonRecordingSpan(self.parent))
            if self.parent is not None
            else None
        )
        attrs: dict[str, Any] = {
            A.TEAM: self.attribution.team or UNATTRIBUTED,
            A.PROJECT: self.attribution.project or UNATTRIBUTED,
            A.ENVIRONMENT: self.attribution.environment or rt.environment,
            **events[0][1],
        }
        if self.response_id:
            attrs[A.GEN_AI_RESPONSE_ID] = self.response_id
        if self.model:
            attrs[A.GEN_AI_REQUEST_MODEL] = self.model
        if self.provider:
            attrs[A.GEN_AI_PROVIDER_NAME] = self.provider
        span = rt.instruments.tracer.start_span(
            f"evaluation {metric}", context=context, kind=SpanKind.INTERNAL, attributes=attrs
        )
        for name, event in events:
            span.add_event(name, event)
        span.end()
        return span

    def request(self) -> UnitRequest:
        """The evaluated unit as policies see it (for scope matching)."""
        u = self.unit
        return UnitRequest(
            attribution=self.attribution,
            operation_name=u.operation_name if u else "",
            operation_type=u.operation_type if u else "",
            provider=self.provider,
            model=self.model,
            estimate=Estimate(),
            region=u.region if u else None,
        )


def _attributes(span: Span) -> dict[str, Any]:
    attrs = getattr(span, "attributes", None)  # SDK spans expose what was set
    return dict(attrs) if attrs else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class _Instruments:
    def __init__(self, runtime: GenOps) -> None:
        from genops.telemetry import SCHEMA_URL

        meter = runtime.meter_provider.get_meter("genops", __version__, schema_url=SCHEMA_URL)
        self.score: Histogram = meter.create_histogram(
            A.METRIC_EVALUATION_SCORE,
            unit="1",
            description="Evaluation scores, by metric name, team and model.",
            explicit_bucket_boundaries_advisory=list(SCORE_BUCKETS),
        )
        self.results: Counter = meter.create_counter(
            A.METRIC_EVALUATION_RESULTS,
            unit="{evaluation}",
            description="Evaluations with a pass/fail verdict, by metric and verdict.",
        )


#: scores are 0..1 for most evaluators; some use 1..5 or 0..10
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0)

_instruments: weakref.WeakKeyDictionary[GenOps, _Instruments] = weakref.WeakKeyDictionary()


def _metrics(rt: GenOps, target: _Target, metric: str, score: float, passed: bool | None) -> None:
    a = target.attribution
    labels: dict[str, Any] = {
        A.EVAL_METRIC: metric,
        A.TEAM: a.team or UNATTRIBUTED,
        A.PROJECT: a.project or UNATTRIBUTED,
        A.ENVIRONMENT: a.environment or rt.environment,
    }
    if target.provider:
        labels[A.GEN_AI_PROVIDER_NAME] = target.provider
    if target.model:
        labels[A.GEN_AI_REQUEST_MODEL] = target.model
    rt.label_guard.apply(labels)
    ins = _instruments.get(rt)
    if ins is None:
        ins = _instruments.setdefault(rt, _Instruments(rt))
    ins.score.record(score, labels)
    if passed is not None:
        ins.results.add(1, {**labels, A.EVAL_PASSED: "true" if passed else "false"})


def _feed(rt: GenOps, target: _Target, metric: str, score: float, passed: bool | None) -> None:
    policies = getattr(rt.engine, "policies", ())
    rules = [
        p
        for p in policies
        if isinstance(p, EvaluationPolicy)
        and p.metric == metric
        and p.enforcement is not Enforcement.OFF
    ]
    if not rules:
        return
    request = target.request()
    for rule in rules:
        sample = rule.sample(score, passed)
        if sample is not None and rule.scope.matches(request):
            rule.observe(request, sample)
