"""Distinct customers by the thousand (100,000 in the heavy run): the number of metric
data points stays bounded — customer is no metric label by default, and opted in it
collapses past ``metric_label_limit`` into ``_OTHER`` — while every span keeps the real
customer id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import genops
from genops import attributes as A
from tests.conftest import Telemetry

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1, "output": 1}]
CASES = [
    pytest.param(5_000, False, id="5k-default"),
    pytest.param(5_000, True, id="5k-customer-label"),
    pytest.param(100_000, True, id="100k-customer-label", marks=pytest.mark.heavy),
]
LIMIT = 50


def run(customers: int) -> None:
    for i in range(customers):
        with genops.governed(
            "reply", provider="openai", model="acme-1",
            attribution=genops.Attribution(customer_id=f"cust-{i}"),
        ) as unit:  # fmt: skip
            unit.record_usage(input_tokens=10, output_tokens=5)


def points(telemetry: Telemetry) -> dict[str, list[Any]]:
    return {
        name: pts
        for name, pts in telemetry.metrics().items()
        if not name.startswith("genops.internal")
    }


@pytest.mark.parametrize(("customers", "opted_in"), CASES)
def test_metric_points_stay_bounded(
    make_genops: Callable[..., genops.GenOps],
    telemetry: Telemetry,
    customers: int,
    opted_in: bool,
) -> None:
    runtime = make_genops(prices=PRICES, metric_label_limit=LIMIT, customer_metric_label=opted_in)
    telemetry.exporter.clear()
    run(customers)
    by_metric = points(telemetry)
    assert by_metric[A.METRIC_COST]
    for name, pts in by_metric.items():  # kept values plus _OTHER (× input/output tokens)
        assert len(pts) <= 2 * (LIMIT + 1), (name, len(pts))
    customers_seen = {
        p.attributes.get(A.CUSTOMER_ID) for pts in by_metric.values() for p in pts
    } - {None}
    if opted_in:
        assert "_OTHER" in customers_seen and len(customers_seen) == LIMIT + 1
        assert runtime.label_guard.distinct(A.CUSTOMER_ID) == LIMIT  # memory bounded too
    else:
        assert customers_seen == set()
    spans = telemetry.spans()
    assert len(spans) == customers
    assert spans[-1].attributes[A.CUSTOMER_ID] == f"cust-{customers - 1}"
