"""Step 7 of the lifecycle, metrics: what one finished unit (or run-tree step) records.

The GenAI semconv histograms, the genops cost counters and — under the
``gen_ai_latest_experimental`` opt-in — the newest GenAI metrics. Every record goes
through the runtime's batched instruments (:mod:`genops._metric_batch`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from genops import attributes as A
from genops._record import error_type, unit_label_set
from genops.usage import Usage

if TYPE_CHECKING:
    from genops.lifecycle import GovernedUnit
    from genops.runtime import GenOps
    from genops.telemetry import LatestInstruments


def record(
    unit: GovernedUnit,
    usage: Usage | None,
    cost: Decimal | None,
    duration: float,
    exc: BaseException | None,
    *,
    estimated: bool = False,
) -> None:
    """GenAI semconv histograms and the genops cost counters for one finished unit
    (``estimated``: the cost is an estimate, labelled ``genops.cost.estimated``)."""
    label_set = unit_label_set(unit, unit.response_model)
    labels = label_set.labels
    ins = unit.runtime.instruments
    if ins.latest is not None:
        _latest_metrics(unit, ins.latest, labels, usage, duration, exc)
    else:
        sc = unit.span.get_span_context()  # the exemplars' span: this unit's
        if unit.cost_bearing or unit.provider_calls:
            dur_labels = (
                labels if exc is None else label_set.with_label(A.ERROR_TYPE, error_type(exc))
            )
            ins.duration.record(duration, dur_labels, sc)
            if unit.first_chunk_s is not None:
                ins.time_to_first_chunk.record(unit.first_chunk_s, labels, sc)
        if usage is not None:
            ins.token_usage.record(
                usage.input_tokens, label_set.with_label(A.GEN_AI_TOKEN_TYPE, "input"), sc
            )
            ins.token_usage.record(
                usage.output_tokens, label_set.with_label(A.GEN_AI_TOKEN_TYPE, "output"), sc
            )
    if cost is not None:
        # A known $0 (free model, zero tokens) is recorded too: the series exists from the
        # first call, so Prometheus increase() counts the next call in full.
        if cost or unit.cost_bearing:
            ins.cost.add(float(cost), {**labels, A.COST_ESTIMATED: True} if estimated else labels)
    elif unit.cost_bearing:
        ins.cost_unknown.add(1, labels)


def _latest_metrics(
    unit: GovernedUnit,
    latest: LatestInstruments,
    labels: dict[str, Any],
    usage: Usage | None,
    duration: float,
    exc: BaseException | None,
) -> None:
    """The newest GenAI metrics (opt-in): inference vs other client operations, agent /
    tool / workflow durations, token counters by modality plus per-operation histograms."""
    dur_labels = labels if exc is None else {**labels, A.ERROR_TYPE: error_type(exc)}
    op = unit.gen_ai_operation
    sc = unit.span.get_span_context()
    if unit.cost_bearing or unit.provider_calls:
        histogram = (
            latest.inference_duration
            if op in A.INFERENCE_OPERATIONS
            else unit.runtime.instruments.duration
        )
        histogram.record(duration, dur_labels, sc)
        if unit.first_chunk_s is not None:
            latest.time_to_first_chunk.record(unit.first_chunk_s, labels, sc)
    else:
        step_duration(unit.runtime, op, unit.extra_attributes, labels, duration, exc)
    if usage is None:
        return
    latest.operation_input.record(usage.input_tokens, labels, sc)
    latest.operation_output.record(usage.output_tokens, labels, sc)
    by_modality = {**labels, A.GEN_AI_TOKEN_MODALITY: A.TOKEN_MODALITY_UNKNOWN}
    for key, value in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_write", usage.cache_write_tokens),
        ("reasoning", usage.reasoning_tokens),
    ):
        if value:
            latest.usage[key].add(value, by_modality)


def step_duration(
    runtime: GenOps,
    operation: str | None,
    attributes: Mapping[str, Any],
    labels: Mapping[str, Any],
    duration: float,
    exc: BaseException | None,
) -> None:
    """``gen_ai.invoke_agent.duration`` / ``execute_tool.duration`` /
    ``invoke_workflow.duration`` for an agent, tool or workflow run (a unit or a run-tree
    step), labelled by its name attribute; only under the latest-experimental opt-in."""
    latest = runtime.instruments.latest
    if latest is None or operation not in _NAMED_DURATIONS:
        return
    field, key = _NAMED_DURATIONS[operation]
    named = {**labels, A.GEN_AI_OPERATION_NAME: operation}
    name = attributes.get(key)
    if isinstance(name, str) and name:
        named[key] = name
    if exc is not None:
        named[A.ERROR_TYPE] = error_type(exc)
    runtime.label_guard.apply(named)
    getattr(latest, field).record(duration, named)


#: gen_ai.operation.name → (LatestInstruments field, the name attribute it is labelled by)
_NAMED_DURATIONS = {
    A.OP_INVOKE_AGENT: ("invoke_agent_duration", A.GEN_AI_AGENT_NAME),
    A.OP_EXECUTE_TOOL: ("execute_tool_duration", A.GEN_AI_TOOL_NAME),
    A.OP_INVOKE_WORKFLOW: ("invoke_workflow_duration", A.GEN_AI_WORKFLOW_NAME),
}
