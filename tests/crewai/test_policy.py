"""Governance before the call: a blocked LLM call never reaches the provider, and a tool
outside the team's allow-list never runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from crewai import Crew
from crewai.hooks import HookAborted

import genops
from genops import attributes as A
from genops_crewai import GenOpsBlocked
from tests.conftest import Telemetry
from tests.crewai import crews as C

APPROVED_GPT4O = {
    "version": 1,
    "policies": [{"name": "approved", "type": "allowed_models", "models": ["gpt-4o"]}],
}


def test_blocked_llm_call_stops_the_crew_before_any_request(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any
) -> None:
    provider, url = fake
    govern(policy=APPROVED_GPT4O)
    agent = C.writer(C.gateway_llm(url))
    crew = Crew(agents=[agent], tasks=[C.writing_task(agent)])

    with pytest.raises(genops.PolicyViolationError) as caught:
        crew.kickoff()

    assert isinstance(caught.value, GenOpsBlocked) and isinstance(caught.value, HookAborted)
    assert caught.value.policy_name == "approved"
    assert caught.value.reason_code == "POLICY_DENY_MODEL"
    assert provider.request_count == 0
    chat = telemetry.span("chat gpt-4o-mini")
    a = dict(chat.attributes or {})
    assert a[A.POLICY_RESULT] == "BLOCKED"
    assert a[A.ERROR_TYPE] == "genops.PolicyViolationError"
    assert [e.name for e in chat.events] == [A.EVENT_POLICY_EVALUATED]
    agent_span = telemetry.span("invoke_agent Writer")
    crew_span = telemetry.span("invoke_workflow crew")
    assert chat.parent is not None and chat.parent.span_id == agent_span.context.span_id
    assert (crew_span.attributes or {})[A.ERROR_TYPE] == "genops_crewai.GenOpsBlocked"
    assert (agent_span.attributes or {})[A.ERROR_TYPE] == "genops_crewai.GenOpsBlocked"


RESEARCH_TOOLS = {
    "version": 1,
    "policies": [
        {
            "name": "research-tools",
            "type": "allowed_tools",
            "tools": ["search_*"],
            "scope": {"team": "research"},
        }
    ],
}


@pytest.mark.parametrize(("team", "runs"), [("research", False), ("support", True)])
def test_tool_allow_list_per_team(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any, team: str, runs: bool
) -> None:
    provider, url = fake
    govern(policy=RESEARCH_TOOLS, team=team)
    provider.script(C.tool_call("lookup", {"city": "Paris"}, 11, 3), C.answer("no idea", 20, 5))
    agent = C.researcher(C.gateway_llm(url))
    before = C.calls["lookup"]

    out = Crew(agents=[agent], tasks=[C.research_task(agent)]).kickoff()

    assert out.raw == "no idea"
    assert C.calls["lookup"] == before + (1 if runs else 0)
    tool = telemetry.span("execute_tool lookup")
    a = dict(tool.attributes or {})
    events = [dict(e.attributes or {}) for e in tool.events if e.name == A.EVENT_POLICY_EVALUATED]
    if runs:
        assert A.ERROR_TYPE not in a and events == []
    else:
        assert a[A.ERROR_TYPE] == "genops.PolicyViolationError"
        assert a[A.POLICY_RESULT] == "BLOCKED"
        assert events == [
            {
                A.POLICY_RESULT: "BLOCKED",
                A.POLICY_REASON_CODE: "x_tool_not_allowed",
                A.POLICY_NAME: "research-tools",
                A.POLICY_REASON: "tool lookup is not in the allowed list ['search_*']",
            }
        ]
        # the agent was told, and went on: the second model call saw the refusal
        assert "blocked" in str(provider.requests[-1].body["messages"]).lower()
    agent_span = telemetry.span("invoke_agent Researcher")
    assert tool.parent is not None and tool.parent.span_id == agent_span.context.span_id
    assert provider.chat_requests == 2


def test_redaction_rewrites_what_crewai_sends_and_what_is_captured(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any
) -> None:
    provider, url = fake
    govern(
        capture_content=True,
        policy={"version": 1, "policies": [
            {"name": "pii", "type": "content", "detect": ["email"], "action": "redact"}
        ]},
    )  # fmt: skip
    agent = C.writer(C.gateway_llm(url))
    task = C.writing_task(agent)
    task.description = "Write to jane.doe@example.com about the refund"

    Crew(agents=[agent], tasks=[task]).kickoff()

    sent = str(provider.requests[0].body["messages"])
    assert "jane.doe@example.com" not in sent and "[REDACTED:email]" in sent
    a = dict(telemetry.span("chat gpt-4o-mini").attributes or {})
    assert "[REDACTED:email]" in a[A.GEN_AI_INPUT_MESSAGES]
    assert "jane.doe" not in a[A.GEN_AI_INPUT_MESSAGES]
    assert "Hello!" in a[A.GEN_AI_OUTPUT_MESSAGES]
    assert a[A.POLICY_REASON_CODE] == "POLICY_DENY_CONTENT"
    leaked = [
        (s.name, k) for s in telemetry.spans() for k, v in (s.attributes or {}).items()
        if "jane.doe" in str(v)
    ]  # fmt: skip
    assert leaked == []
