"""A two-agent crew with a tool: the span tree, GenOps attributes and roll-ups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from crewai import Crew
from crewai.llms.base_llm import BaseLLM
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
    assert attrs(research)["crewai.task.name"] == "weather"
    assert "crewai.task.name" not in attrs(write)  # unnamed: the description is content
    assert attrs(research)[A.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert attrs(write)[A.ROLLUP_TOKENS_INPUT] == 30
    assert attrs(crew)[A.ROLLUP_TOKENS_INPUT] == 61
    assert attrs(crew)[A.ROLLUP_UNITS] == 3
    assert attrs(crew)[A.ROLLUP_COST_TOTAL] == pytest.approx(cost(chats))
    assert attrs(crew)[A.TEAM] == "research"
    assert attrs(crew)[A.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    tool = telemetry.span("execute_tool lookup")
    assert attrs(tool)[A.GEN_AI_TOOL_NAME] == "lookup"


def test_known_host_behind_crewais_openai_class_is_that_provider(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any
) -> None:
    provider, url = fake
    govern()
    model = "llama-3.1-8b-instant"
    provider.script(C.answer("done", 12, 4, model=model))
    llm = C.hosted_llm(url, "https://api.groq.com/openai/v1", model=f"openai/{model}")
    agent = C.writer(llm)

    Crew(agents=[agent], tasks=[C.writing_task(agent)]).kickoff()

    chat = telemetry.span(f"chat {model}")
    assert attrs(chat)[A.GEN_AI_PROVIDER_NAME] == "groq"
    assert provider.chat_requests == 1


def test_tool_error_and_provider_error_are_recorded(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any
) -> None:
    from crewai.tools import tool

    from tests.fakes.provider import Reply

    @tool("flaky")
    def flaky(city: str) -> str:
        """Always fails."""
        raise RuntimeError("backend down")

    provider, url = fake
    govern()
    provider.script(
        C.tool_call("flaky", {"city": "Paris"}, 11, 3),
        Reply.json({"error": {"message": "overloaded", "type": "server_error"}}, status=400),
    )
    agent = C.writer(C.gateway_llm(url, max_retries=0), tools=[flaky])

    out = Crew(agents=[agent], tasks=[C.writing_task(agent)]).kickoff()

    assert out.raw == "Hello!"  # CrewAI retried the failed call (the fake's default answer)

    tool_span = telemetry.span("execute_tool flaky")
    assert attrs(tool_span)[A.ERROR_TYPE] == "genops_crewai.ToolFailed"
    chats = sorted(
        (s for s in telemetry.spans() if s.name == "chat gpt-4o-mini"), key=lambda s: s.start_time
    )
    assert len(chats) == 3 == provider.chat_requests
    assert [attrs(c).get(A.ERROR_TYPE) for c in chats] == [
        None,
        "genops_crewai.LLMCallFailed",
        None,
    ]
    failed = attrs(chats[1])
    assert failed[A.ACCOUNTING_ACTUAL] == 0
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in failed


def test_streamed_call_records_first_chunk_and_usage(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any
) -> None:
    provider, url = fake
    govern()
    agent = C.writer(C.gateway_llm(url, stream=True))

    out = Crew(agents=[agent], tasks=[C.writing_task(agent)]).kickoff()

    assert out.raw == "Hello!"
    body = provider.requests[0].body
    assert body["stream"] is True
    a = attrs(telemetry.span("chat gpt-4o-mini"))
    assert a[A.GEN_AI_REQUEST_STREAM] is True
    assert body["stream_options"] == {"include_usage": True}  # CrewAI asks for usage
    assert a[A.GEN_AI_USAGE_INPUT_TOKENS] == 21
    assert a[A.COST_TOTAL] > 0


def test_genops_init_enables_the_integration(
    telemetry: Telemetry, make_genops: Callable[..., Any], fake: Any
) -> None:
    from crewai.hooks import InterceptionPoint, get_hooks

    from genops import integrations

    provider, url = fake
    assert "crewai" in integrations.available()
    before = len(get_hooks(InterceptionPoint.PRE_MODEL_CALL))
    make_genops(instrument=True)  # every installed integration, genops-native included
    assert len(get_hooks(InterceptionPoint.PRE_MODEL_CALL)) == before + 1
    agent = C.writer(C.gateway_llm(url))

    Crew(agents=[agent], tasks=[C.writing_task(agent)]).kickoff()

    spans = telemetry.spans()
    assert tree(spans) == [
        ("chat gpt-4o-mini", "invoke_agent Writer"),
        ("invoke_agent Writer", "invoke_workflow crew"),
        ("invoke_workflow crew", None),
    ]
    assert len([s for s in spans if attrs(s).get(A.SPEC_VERSION)]) == 1  # native covered
    assert provider.chat_requests == 1
    import genops

    genops.shutdown()
    assert len(get_hooks(InterceptionPoint.PRE_MODEL_CALL)) == before


class QuietLLM(BaseLLM):
    """A user's own CrewAI LLM class: answers, emits no events, reports no usage."""

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        return "quiet answer"


class ReportingLLM(BaseLLM):
    """A user's own CrewAI LLM class that reports its usage the way CrewAI's own do."""

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        from crewai.events.types.llm_events import LLMCallType
        from crewai.llms.base_llm import llm_call_context

        with llm_call_context():
            self._emit_call_started_event(messages=messages)
            usage = {"prompt_tokens": 100, "completion_tokens": 10, "cached_prompt_tokens": 40}
            self._emit_call_completed_event(
                response="reported answer", call_type=LLMCallType.LLM_CALL, usage=usage
            )
        return "reported answer"


def test_custom_llm_classes(telemetry: Telemetry, govern: Callable[..., Any]) -> None:
    govern()
    quiet = C.writer(QuietLLM(model="gpt-4o-mini"))
    reporting = C.writer(ReportingLLM(model="gpt-4o-mini"))
    reporting.role = "Reporter"

    Crew(
        agents=[quiet, reporting], tasks=[C.writing_task(quiet), C.writing_task(reporting)]
    ).kickoff()

    chats = {parent_of(s, telemetry.spans()).name: attrs(s) for s in telemetry.spans()
             if s.name == "chat gpt-4o-mini"}  # fmt: skip
    unknown = chats["invoke_agent Writer"]
    assert A.ERROR_TYPE not in unknown
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in unknown and A.COST_TOTAL not in unknown
    assert unknown[A.ACCOUNTING_ACTUAL] == unknown[A.ACCOUNTING_RESERVED]  # charged, flagged
    assert unknown[A.ACCOUNTING_INCOMPLETE] is True
    reported = chats["invoke_agent Reporter"]
    assert reported[A.GEN_AI_USAGE_INPUT_TOKENS] == 100
    assert reported[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 40
    assert reported[A.COST_TOTAL] > 0
