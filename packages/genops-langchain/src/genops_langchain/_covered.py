"""LLM runs inside a governed unit the user opened: a plain span, the cost stays outside.

When the user wraps LangChain in their own ``genops.governed(..., model=...)`` unit,
that unit already owns the cost of provider calls made inside it
(:func:`genops.covering_unit`). A second governed unit for the LangChain LLM run would
count the call twice, so the run gets a plain ``chat {model}`` CLIENT span (GenAI
attributes, no ``genops.*`` accounting) and its usage is added to the user's unit —
unless the SDK layer underneath already did (the unit's usage changed during the run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind, Tracer

from genops import GovernedUnit, Usage
from genops import attributes as A
from genops_langchain import _extract as X


@dataclass(slots=True)
class Covered:
    """The user's unit that owns this run's cost, and its usage when the run started."""

    outer: GovernedUnit
    before: Usage | None
    provider: str | None
    model: str


def start(
    tracer: Tracer,
    outer: GovernedUnit,
    operation: str,
    provider: str | None,
    model: str,
    parent: otel_context.Context,
) -> tuple[Span, Covered]:
    """Open the plain span of a covered LLM run."""
    attrs: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: operation, A.GEN_AI_REQUEST_MODEL: model}
    if provider:
        attrs[A.GEN_AI_PROVIDER_NAME] = provider
    span = tracer.start_span(
        f"{operation} {model}", context=parent, kind=SpanKind.CLIENT, attributes=attrs
    )
    return span, Covered(outer, outer.usage, provider, model)


def finish(span: Span, covered: Covered, response: Any) -> None:
    """Record the response on the plain span and hand the usage to the user's unit."""
    generation = X.first_generation(response)
    response_model, response_id, finish_reasons = X.response_info(response, generation)
    usage = Usage.from_provider(X.usage(response, generation))
    attrs: dict[str, Any] = {}
    if response_model:
        attrs[A.GEN_AI_RESPONSE_MODEL] = response_model
    if response_id:
        attrs[A.GEN_AI_RESPONSE_ID] = response_id
    if finish_reasons:
        attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = finish_reasons
    if usage is not None:
        attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
        attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
    span.set_attributes(attrs)
    outer = covered.outer
    if usage is not None and outer.is_open and outer.usage == covered.before:
        outer.add_provider_call(
            usage, provider=covered.provider, model=response_model or covered.model
        )
