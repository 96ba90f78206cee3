"""The CrewAI demo scenario, offline against the shipped fake provider."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

import genops
from genops import _safety
from genops import attributes as A
from genops.demo import discover
from genops.demo.runner import DemoResult, run
from tests.conftest import Telemetry
from tests.crewai.test_crew import attrs
from tests.spans import parent_of


@pytest.fixture
def crew_demo(telemetry: Telemetry, tmp_path: Path) -> Iterator[DemoResult]:
    (scenario,) = [s for s in discover() if s.integration == "crewai"]
    result = run(
        store=tmp_path / "spend.db",
        console=Console(file=io.StringIO(), width=160, color_system=None),
        scenarios=[scenario],
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
    )
    yield result
    genops.shutdown()
    _safety.reset()


def test_newsletter_crews_and_the_blocked_tool(crew_demo: DemoResult, telemetry: Telemetry) -> None:
    spans = telemetry.spans()
    crews = [s for s in spans if s.name == "invoke_workflow newsletter"]
    assert len(crews) == 3 and all(parent_of(c, spans) is None for c in crews)
    assert sorted(attrs(c)[A.CUSTOMER_ID] for c in crews) == ["acme", "acme", "globex"]
    units = [s for s in spans if attrs(s).get(A.SPEC_VERSION)]
    assert len(units) == 9 == crew_demo.provider_requests
    assert {attrs(u)[A.TEAM] for u in units} == {"content"}
    assert sum(attrs(c)[A.ROLLUP_UNITS] for c in crews) == 9
    assert sum(attrs(c)[A.ROLLUP_COST_TOTAL] for c in crews) == pytest.approx(
        sum(attrs(u)[A.COST_TOTAL] for u in units)
    )
    (blocked,) = [s for s in spans if s.name == "execute_tool browse_web"]
    assert attrs(blocked)[A.POLICY_REASON_CODE] == "x_tool_not_allowed"
    assert len([s for s in spans if s.name == "execute_tool search_archive"]) == 2
    assert any("browse_web stopped by 'content-tools'" in n for n in crew_demo.context.notes)
