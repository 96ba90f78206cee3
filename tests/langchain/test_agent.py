"""A tool-calling agent loop with two tool calls: agent/tool/chat spans and the agent roll-up."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from opentelemetry.trace import SpanKind, StatusCode

from genops import attributes as A
from tests.langchain.conftest import by_name, parent_of, tree
from tests.langchain.fakes import FakeChat, answer, get_time, get_weather, tool_call
from tests.spec import assert_compliant

TOOLS = {t.name: t for t in (get_weather, get_time)}
COST = 0.00024


def make_agent(model: FakeChat, name: str = "support-agent") -> RunnableLambda[str, str]:
    bound = model.bind_tools(list(TOOLS.values()))

    def loop(question: str, config: RunnableConfig) -> str:
        messages: list[BaseMessage] = [HumanMessage(question)]
        while True:
            ai = bound.invoke(messages, config=config)
            messages.append(ai)
            if not ai.tool_calls:
                return str(ai.content)
            for call in ai.tool_calls:
                messages.append(TOOLS[call["name"]].invoke(call, config=config))

    return RunnableLambda(loop).with_config(run_name=name, metadata={"genops_agent": name})


def agent_model() -> FakeChat:
    return FakeChat.cycling(
        answer(
            "",
            tool_calls=[
                tool_call("get_weather", "Paris", "call_1"),
                tool_call("get_time", "Paris", "call_2"),
            ],
            n=1,
        ),
        answer("Sunny, and it is 10:00 in Paris.", n=2),
    )


def test_agent_with_two_tool_calls(telemetry, handler):
    model = agent_model()
    out = make_agent(model).invoke("weather and time in Paris?", config={"callbacks": [handler]})
    assert out == "Sunny, and it is 10:00 in Paris."
    spans = telemetry.spans()
    assert tree(spans) == sorted(
        [
            ("invoke_agent support-agent", None),
            ("chat gpt-4o-mini", "invoke_agent support-agent"),
            ("chat gpt-4o-mini", "invoke_agent support-agent"),
            ("execute_tool get_weather", "invoke_agent support-agent"),
            ("execute_tool get_time", "invoke_agent support-agent"),
        ]
    )
    names = by_name(spans)
    agent = names["invoke_agent support-agent"][0]
    assert agent.kind is SpanKind.INTERNAL
    attrs = dict(agent.attributes)
    assert attrs.pop(A.ROLLUP_COST_TOTAL) == pytest.approx(2 * COST)
    assert attrs == {
        A.GEN_AI_OPERATION_NAME: "invoke_agent",
        A.GEN_AI_AGENT_NAME: "support-agent",
        A.TEAM: "platform",
        A.PROJECT: "genops-tests",
        A.ENVIRONMENT: "development",
        A.ROLLUP_UNITS: 2,
        A.ROLLUP_TOKENS_INPUT: 2000,
        A.ROLLUP_TOKENS_OUTPUT: 400,
        A.ROLLUP_TOKENS_TOTAL: 2400,
    }
    weather = names["execute_tool get_weather"][0]
    assert weather.kind is SpanKind.INTERNAL
    assert dict(weather.attributes) == {
        A.GEN_AI_OPERATION_NAME: "execute_tool",
        A.GEN_AI_TOOL_NAME: "get_weather",
        A.GEN_AI_TOOL_TYPE: "function",
        A.GEN_AI_TOOL_CALL_ID: "call_1",
    }
    assert names["execute_tool get_time"][0].attributes[A.GEN_AI_TOOL_CALL_ID] == "call_2"
    first, second = sorted(names["chat gpt-4o-mini"], key=lambda s: s.start_time)
    assert first.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert second.attributes[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    # spans in the order the loop ran them: chat, tool, tool, chat
    ordered = [s.name for s in sorted(spans, key=lambda s: s.start_time) if s is not agent]
    assert ordered == [
        "chat gpt-4o-mini",
        "execute_tool get_weather",
        "execute_tool get_time",
        "chat gpt-4o-mini",
    ]
    for chat in (first, second):
        assert_compliant(chat)
        assert [e.name for e in chat.events] == [
            A.EVENT_POLICY_EVALUATED,
            A.EVENT_BUDGET_RESERVATION,
            A.EVENT_BUDGET_RECONCILIATION,
        ]
    assert model.stats["calls"] == 2
    assert handler.open_runs == 0


async def test_agent_async_nested_under_workflow(telemetry, handler):
    """An agent inside a larger chain: the agent is an inner span, its roll-up flows up."""
    model = agent_model()
    pipeline = (RunnableLambda(lambda q: q.strip()) | make_agent(model)).with_config(
        run_name="assistant"
    )
    out = await pipeline.ainvoke(" weather? ", config={"callbacks": [handler]})
    assert out.startswith("Sunny")
    spans = telemetry.spans()
    names = by_name(spans)
    agent = names["invoke_agent support-agent"][0]
    root = names["invoke_workflow assistant"][0]
    assert parent_of(agent, spans) is root
    assert agent.attributes[A.ROLLUP_UNITS] == 2
    assert root.attributes[A.ROLLUP_UNITS] == 2
    assert root.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(2 * COST)
    # attribution is set on root and agent spans alike
    assert agent.attributes.get(A.TEAM) is None  # not the root: no attribution copy
    assert len(names["execute_tool get_weather"]) == 1


def test_failing_tool_ends_spans_with_error_type(telemetry, handler):
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        raise RuntimeError("weather service down")

    broken: dict[str, Any] = {**TOOLS, "get_weather": get_weather}
    model = agent_model()
    bound = model.bind_tools(list(broken.values()))

    def loop(question: str, config: RunnableConfig) -> str:
        ai = bound.invoke([HumanMessage(question)], config=config)
        for call in ai.tool_calls:
            broken[call["name"]].invoke(call, config=config)
        return "unreachable"

    agent = RunnableLambda(loop).with_config(
        run_name="support-agent", metadata={"genops_agent": "support-agent"}
    )
    with pytest.raises(RuntimeError, match="weather service down"):
        agent.invoke("weather?", config={"callbacks": [handler]})
    names = by_name(telemetry.spans())
    tool_span = names["execute_tool get_weather"][0]
    assert tool_span.status.status_code is StatusCode.ERROR
    assert tool_span.attributes[A.ERROR_TYPE] == "RuntimeError"
    assert [e.name for e in tool_span.events] == ["exception"]
    agent_span = names["invoke_agent support-agent"][0]
    assert agent_span.status.status_code is StatusCode.ERROR
    assert agent_span.attributes[A.ERROR_TYPE] == "RuntimeError"
    # the unit that finished before the failure is still in the roll-up
    assert agent_span.attributes[A.ROLLUP_UNITS] == 1
    assert handler.open_runs == 0


def test_a_chain_reporting_agent_actions_becomes_an_agent_span(telemetry, handler):
    from langchain_core.agents import AgentAction, AgentFinish
    from langchain_core.callbacks import CallbackManagerForChainRun

    model = FakeChat.cycling(answer("done"))

    def planner(question: str, run_manager: CallbackManagerForChainRun) -> str:
        run_manager.on_agent_action(AgentAction(tool="search", tool_input=question, log=""))
        out = model.invoke(question, config={"callbacks": run_manager.get_child()})
        run_manager.on_agent_finish(AgentFinish(return_values={"output": out.content}, log=""))
        return str(out.content)

    pipeline = RunnableLambda(lambda q: q) | RunnableLambda(planner)
    pipeline.invoke("plan", config={"callbacks": [handler]})
    spans = telemetry.spans()
    agent = telemetry.span("invoke_agent planner")
    assert agent.attributes[A.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert agent.attributes[A.GEN_AI_AGENT_NAME] == "planner"
    assert agent.attributes[A.ROLLUP_UNITS] == 1
    assert parent_of(telemetry.span("chat gpt-4o-mini"), spans) is agent
    assert parent_of(agent, spans).name == "invoke_workflow RunnableSequence"


def test_a_chain_inside_a_tool_of_an_agent_is_not_another_agent(telemetry, handler):
    """Metadata is inherited: the chain a tool runs still carries ``genops_agent``."""
    from langchain_core.tools import tool

    inner = RunnableLambda(lambda city: f"sunny in {city}").with_config(run_name="lookup")

    @tool
    def get_weather(city: str, config: RunnableConfig) -> str:
        """The weather in a city."""
        return inner.invoke(city, config=config)

    tools = {**TOOLS, "get_weather": get_weather}
    model = agent_model()
    bound = model.bind_tools(list(tools.values()))

    def loop(question: str, config: RunnableConfig) -> str:
        messages: list[BaseMessage] = [HumanMessage(question)]
        while True:
            ai = bound.invoke(messages, config=config)
            messages.append(ai)
            if not ai.tool_calls:
                return str(ai.content)
            for call in ai.tool_calls:
                messages.append(tools[call["name"]].invoke(call, config=config))

    agent = RunnableLambda(loop).with_config(
        run_name="support-agent", metadata={"genops_agent": "support-agent"}
    )
    agent.invoke("weather?", config={"callbacks": [handler]})
    spans = telemetry.spans()
    assert len(by_name(spans)["invoke_agent support-agent"]) == 1
    assert parent_of(telemetry.span("lookup"), spans).name == "execute_tool get_weather"


def test_agent_and_tool_durations_under_the_latest_semconv_opt_in(
    telemetry, make_genops, monkeypatch
):
    from genops_langchain import GenOpsCallbackHandler

    monkeypatch.setenv(A.ENV_SEMCONV_OPT_IN, "gen_ai_latest_experimental")
    make_genops()
    handler = GenOpsCallbackHandler()
    make_agent(agent_model()).invoke("weather?", config={"callbacks": [handler]})
    metrics = telemetry.metrics()
    [agent] = metrics[A.METRIC_INVOKE_AGENT_DURATION]
    assert agent.count == 1
    assert agent.attributes[A.GEN_AI_AGENT_NAME] == "support-agent"
    assert agent.attributes[A.TEAM] == "platform"
    tools = {
        p.attributes[A.GEN_AI_TOOL_NAME]: p.count for p in metrics[A.METRIC_EXECUTE_TOOL_DURATION]
    }
    assert tools == {"get_weather": 1, "get_time": 1}
    [chat] = metrics[A.METRIC_INFERENCE_DURATION]
    assert chat.count == 2
    assert A.METRIC_OPERATION_DURATION not in metrics  # inference moved to its own metric
