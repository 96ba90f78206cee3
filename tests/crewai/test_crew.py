"""A two-agent crew with a tool: the span tree, GenOps attributes and roll-ups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from crewai import Crew
from opentelemetry.sdk.trace import ReadableSpan

from genops import attributes as A
from tests.conftest import Telemetry
from tests.crewai import crews as C
from tests.spans import parent_of


def tree(spans: list[ReadableSpan]) -> list[tuple[str, str | None]]:
    return sorted((s.name, p.name if (p := parent_of(s, spans)) else None) for s in spans)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def cost(spans: list[ReadableSpan]) -> float:
    return sum(float(attrs(s)[A.COST_TOTAL]) for s in spans)


def two_agent_crew(llm: Any, **kwargs: Any) -> Crew:
    research, write = C.researcher(llm), C.writer(llm)
    return Crew(
        agents=[research, write],
        tasks=[C.research_task(research), C.writing_task(write)],
        **kwargs,
    )


def script_two_agents(fake: Any) -> None:
    fake.script(
        C.tool_call("lookup", {"city": "Paris"}, 11, 3),
        C.answer("sunny", 20, 5),
        C.answer("Sun on the Seine", 30, 6),
    )


@pytest.mark.parametrize("where", ["gateway", "openai"])
def test_two_agents_span_tree_attributes_and_rollups(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any, where: str
) -> None:
    provider, url = fake
    govern(team="research", project="briefs")
    llm = (
        C.gateway_llm(url) if where == "gateway" else C.hosted_llm(url, "https://api.openai.com/v1")
    )
    script_two_agents(provider)
    before = C.calls["lookup"]

    out = two_agent_crew(llm).kickoff()

    assert out.raw == "Sun on the Seine"
    assert provider.chat_requests == 3
    assert C.calls["lookup"] == before + 1
    spans = telemetry.spans()
    assert tree(spans) == [
        ("chat gpt-4o-mini", "invoke_agent Researcher"),
        ("chat gpt-4o-mini", "invoke_agent Researcher"),
        ("chat gpt-4o-mini", "invoke_agent Writer"),
        ("execute_tool lookup", "invoke_agent Researcher"),
        ("invoke_agent Researcher", "invoke_workflow crew"),
        ("invoke_agent Writer", "invoke_workflow crew"),
        ("invoke_workflow crew", None),
    ]
    assert len({s.context.trace_id for s in spans}) == 1
    chats = [s for s in spans if s.name.startswith("chat ")]
    for chat in chats:
        a = attrs(chat)
        assert a[A.SPEC_VERSION]
        assert a[A.GEN_AI_PROVIDER_NAME] == "openai"
        assert a[A.TEAM] == "research" and a[A.PROJECT] == "briefs"
        assert a[A.OPERATION_NAME] == "crewai.llm"
        assert a[A.COST_TOTAL] > 0
    by_agent = {
        name: sorted(attrs(c)[A.GEN_AI_USAGE_INPUT_TOKENS] for c in chats
                     if attrs(c)[A.GEN_AI_AGENT_NAME] == name)
        for name in ("Researcher", "Writer")
    }  # fmt: skip
    assert by_agent == {"Researcher": [11, 20], "Writer": [30]}

    research = telemetry.span("invoke_agent Researcher")
    write = telemetry.span("invoke_agent Writer")
    crew = telemetry.span("invoke_workflow crew")
    r_chats = [c for c in chats if parent_of(c, spans) is research]
    assert attrs(research)[A.ROLLUP_TOKENS_INPUT] == 31
    assert attrs(research)[A.ROLLUP_TOKENS_OUTPUT] == 8
    assert attrs(research)[A.ROLLUP_UNITS] == 2
    assert attrs(research)[A.ROLLUP_COST_TOTAL] == pytest.approx(cost(r_chats))
    assert attrs(research)["crewai.task.name"] == "Find the weather in Paris"
    assert attrs(research)[A.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert attrs(write)[A.ROLLUP_TOKENS_INPUT] == 30
    assert attrs(crew)[A.ROLLUP_TOKENS_INPUT] == 61
    assert attrs(crew)[A.ROLLUP_UNITS] == 3
    assert attrs(crew)[A.ROLLUP_COST_TOTAL] == pytest.approx(cost(chats))
    assert attrs(crew)[A.TEAM] == "research"
    assert attrs(crew)[A.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    tool = telemetry.span("execute_tool lookup")
    assert attrs(tool)[A.GEN_AI_TOOL_NAME] == "lookup"
