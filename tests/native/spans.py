"""Assertions on exported unit spans: pop what is expected, nothing unexpected may remain."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

import genops
from genops import attributes as A

REQUIRED_EVENTS = (
    A.EVENT_POLICY_EVALUATED,
    A.EVENT_BUDGET_RESERVATION,
    A.EVENT_BUDGET_RECONCILIATION,
)


def events(span: ReadableSpan, name: str) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == name]


def check_unit_span(
    span: ReadableSpan,
    *,
    provider: str,
    model: str,
    operation: str = A.OP_CHAT,
    op_name: str,
    op_type: str = "inference",
    host: str,
    port: int = 443,
    stream: bool | None = False,
    max_tokens: int | None = None,
    response_model: str | None = None,
    usage: genops.Usage | None = None,
    cost: Decimal | None = None,
    response_id: str | None = None,
    finish_reasons: list[str] | None = None,
    first_chunk: bool = False,
    incomplete: bool = False,
    error_type: str | None = None,
) -> dict[str, Any]:
    """Check a provider-call span completely; returns the reconciliation event."""
    assert span.name == f"{operation} {model}"
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    expected: dict[str, Any] = {
        A.SPEC_VERSION: genops.SPEC_VERSION,
        A.ENVIRONMENT: "development",
        A.TEAM: "platform",
        A.PROJECT: "genops-tests",
        A.GEN_AI_OPERATION_NAME: operation,
        A.OPERATION_NAME: op_name,
        A.OPERATION_TYPE: op_type,
        A.GEN_AI_PROVIDER_NAME: provider,
        A.GEN_AI_REQUEST_MODEL: model,
        A.SERVER_ADDRESS: host,
        A.SERVER_PORT: port,
        A.POLICY_RESULT: "ALLOWED",
    }
    if stream is not None:
        expected[A.GEN_AI_REQUEST_STREAM] = stream
    if max_tokens is not None:
        expected[A.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    if response_model is not None:
        expected[A.GEN_AI_RESPONSE_MODEL] = response_model
    if response_id is not None:
        expected[A.GEN_AI_RESPONSE_ID] = response_id
    if usage is not None:
        expected[A.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
        expected[A.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
        expected[A.TOKENS_INPUT] = usage.input_tokens
        expected[A.TOKENS_OUTPUT] = usage.output_tokens
        expected[A.TOKENS_TOTAL] = usage.total_tokens
        if usage.cache_read_tokens:
            expected[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_tokens
        if usage.cache_write_tokens:
            expected[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = usage.cache_write_tokens
        if usage.reasoning_tokens:
            expected[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_tokens
    for key, value in expected.items():
        assert key in attrs, f"missing {key} on {span.name}: {attrs}"
        got = attrs.pop(key)
        assert got == value, f"{key}: expected {value!r}, got {got!r}"
    if finish_reasons is not None:
        assert list(attrs.pop(A.GEN_AI_RESPONSE_FINISH_REASONS)) == finish_reasons
    assert attrs.pop(A.POLICY_TIMESTAMP) > 0
    assert attrs.pop(A.POLICY_EVALUATED_COUNT) >= 0
    if first_chunk:
        assert attrs.pop(A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK) >= 0
    reserved = attrs.pop(A.ACCOUNTING_RESERVED)
    unit = attrs.pop(A.ACCOUNTING_UNIT)
    actual = attrs.pop(A.ACCOUNTING_ACTUAL)
    delta = attrs.pop(A.ACCOUNTING_RECONCILIATION_DELTA)
    assert delta == actual - reserved
    if cost is not None:
        assert unit == "USD"
        assert attrs.pop(A.COST_TOTAL) == float(cost)
        assert actual == float(cost)
        assert attrs.pop(A.COST_CURRENCY) == "USD"
        assert attrs.pop(A.COST_PROVIDER) == provider
        assert attrs.pop(A.COST_MODEL) == (response_model or model)
        assert attrs.pop(A.COST_PRICE_SOURCE) == "genai-prices"
        assert attrs.pop(A.COST_PRICE_VERSION)
        assert events(span, A.EVENT_COST_CALCULATED) == []  # optional: not emitted
    elif error_type is None or usage is not None:
        assert attrs.pop(A.COST_UNKNOWN) is True
    if incomplete:
        assert attrs.pop(A.ACCOUNTING_INCOMPLETE) is True
        assert actual == reserved
    if error_type is not None:
        assert attrs.pop(A.ERROR_TYPE) == error_type
        assert actual == 0.0
        if A.COST_UNKNOWN in attrs:
            assert attrs.pop(A.COST_UNKNOWN) is True
    assert attrs == {}, f"unexpected attributes on {span.name}: {attrs}"
    for name in REQUIRED_EVENTS:
        assert len(events(span, name)) == 1, f"{name} on {span.name}: {span.events}"
    reconciliation = events(span, A.EVENT_BUDGET_RECONCILIATION)[0]
    assert reconciliation[A.ACCOUNTING_ACTUAL] == actual
    assert reconciliation[A.ACCOUNTING_RESERVED] == reserved
    return reconciliation
