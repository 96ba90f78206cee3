"""Hierarchical crews (a manager delegating to a coworker through its tool)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from crewai import Crew, Process

from genops import attributes as A
from tests.conftest import Telemetry
from tests.crewai import crews as C
from tests.crewai.test_crew import attrs, cost, tree
from tests.spans import parent_of

DELEGATE = "delegate_work_to_coworker"


def test_hierarchical_manager_delegates_to_a_coworker(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any
) -> None:
    provider, url = fake
    govern(team="research")
    llm = C.gateway_llm(url)
    provider.script(
        C.tool_call(
            DELEGATE,
            {"task": "Find the weather in Paris", "context": "for a haiku", "coworker": "Researcher"},
            40, 10,
        ),
        C.answer("sunny", 20, 5),
        C.answer("It is sunny in Paris", 50, 8),
    )  # fmt: skip
    research, write = C.researcher(llm), C.writer(llm)
    crew = Crew(
        agents=[research, write],
        tasks=[C.research_task(None)],
        process=Process.hierarchical,
        manager_llm=llm,
    )

    out = crew.kickoff()

    assert out.raw == "It is sunny in Paris"
    assert provider.chat_requests == 3
    spans = telemetry.spans()
    assert tree(spans) == [
        ("chat gpt-4o-mini", "invoke_agent Crew Manager"),
        ("chat gpt-4o-mini", "invoke_agent Crew Manager"),
        ("chat gpt-4o-mini", "invoke_agent Researcher"),
        (f"execute_tool {DELEGATE}", "invoke_agent Crew Manager"),
        ("invoke_agent Crew Manager", "invoke_workflow crew"),
        ("invoke_agent Researcher", f"execute_tool {DELEGATE}"),
        ("invoke_workflow crew", None),
    ]
    chats = [s for s in spans if s.name.startswith("chat ")]
    coworker = telemetry.span("invoke_agent Researcher")
    manager = telemetry.span("invoke_agent Crew Manager")
    delegate = telemetry.span(f"execute_tool {DELEGATE}")
    assert attrs(coworker)[A.ROLLUP_TOKENS_INPUT] == 20
    assert attrs(delegate)[A.ROLLUP_TOKENS_INPUT] == 20
    assert attrs(manager)[A.ROLLUP_TOKENS_INPUT] == 110
    assert attrs(manager)[A.ROLLUP_COST_TOTAL] == pytest.approx(cost(chats))
    coworker_chat = next(c for c in chats if parent_of(c, spans) is coworker)
    assert attrs(coworker_chat)[A.GEN_AI_AGENT_NAME] == "Researcher"
