"""Metrics: GenAI semconv histograms with the specified buckets, and the cost counter."""

from __future__ import annotations

import pytest

import genops
from genops import attributes as A


def test_semconv_histograms_and_cost_counter(telemetry, runtime):
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=1000, output_tokens=100)
        unit.set_response(model="gpt-4o-mini-2024-07-18")
    metrics = telemetry.metrics()
    tokens = metrics[A.METRIC_TOKEN_USAGE]
    by_type = {p.attributes[A.GEN_AI_TOKEN_TYPE]: p for p in tokens}
    assert by_type["input"].sum == 1000
    assert by_type["output"].sum == 100
    assert list(by_type["input"].explicit_bounds) == list(A.TOKEN_USAGE_BUCKETS)
    labels = dict(by_type["input"].attributes)
    assert labels == {
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_PROVIDER_NAME: "openai",
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        A.TEAM: "platform",
        A.PROJECT: "genops-tests",
        A.ENVIRONMENT: "development",
        A.GEN_AI_TOKEN_TYPE: "input",
    }
    [duration] = metrics[A.METRIC_OPERATION_DURATION]
    assert list(duration.explicit_bounds) == list(A.DURATION_BUCKETS)
    assert duration.count == 1
    [cost] = metrics[A.METRIC_COST]
    assert cost.value == pytest.approx((150 + 60) / 1e6)
    assert cost.attributes[A.TEAM] == "platform"


def test_error_type_on_duration_and_first_chunk_histogram(telemetry, runtime):
    with pytest.raises(TimeoutError):
        with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
            unit.record_first_chunk()
            raise TimeoutError
    metrics = telemetry.metrics()
    [duration] = metrics[A.METRIC_OPERATION_DURATION]
    assert duration.attributes[A.ERROR_TYPE] == "TimeoutError"
    [ttfc] = metrics[A.METRIC_TIME_TO_FIRST_CHUNK]
    assert ttfc.count == 1
    span = telemetry.span("chat gpt-4o-mini")
    assert span.attributes[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
