"""Fixtures for the CrewAI integration tests: real crews on the loopback fake provider.

CrewAI's own telemetry is off (``CREWAI_DISABLE_TELEMETRY``) and ``OTEL_SDK_DISABLED``
stays unset: genops must not depend on either.
"""

from __future__ import annotations

import os

os.environ["CREWAI_DISABLE_TELEMETRY"] = "true"
os.environ.pop("OTEL_SDK_DISABLED", None)

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from crewai.events import crewai_event_bus

import genops
import genops_crewai
from tests.crewai.crews import CrewFake


@pytest.fixture
def fake() -> Iterator[tuple[CrewFake, str]]:
    """The loopback provider and its gateway-style base URL (``http://127.0.0.1:N/v1``)."""
    provider = CrewFake()
    with provider.serve() as url:
        yield provider, f"{url}/v1"


@pytest.fixture
def govern(make_genops: Callable[..., genops.GenOps]) -> Iterator[Callable[..., Any]]:
    """``govern(**init_kwargs)``: a genops runtime on the in-memory pipeline with the
    CrewAI listener enabled on it (disabled after the test)."""
    listeners: list[genops_crewai.GenOpsListener] = []

    def start(**kwargs: Any) -> genops_crewai.GenOpsListener:
        runtime = make_genops(**kwargs)
        listener = genops_crewai.enable(runtime)
        listeners.append(listener)
        return listener

    yield start
    crewai_event_bus.flush()
    for listener in listeners:
        listener.uninstrument()
