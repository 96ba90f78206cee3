"""A Haystack Agent with a tool, and OpenAIChatGenerator over genops-native (claims)."""

from __future__ import annotations

import pytest
from haystack.components.agents import Agent
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage
from haystack.tools import Tool
from haystack.utils import Secret

import genops
import genops_haystack
from genops import attributes as A
from tests.fakes import wire
from tests.fakes.provider import Reply
from tests.langchain.conftest import tree

MODEL = "gpt-4o-mini"


def weather(city: str) -> str:
    return f"sunny in {city}"


TOOL = Tool(
    name="get_weather",
    description="weather of a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    function=weather,
)


def agent(base_url: str) -> Agent:
    llm = OpenAIChatGenerator(api_key=Secret.from_token("k"), model=MODEL, api_base_url=base_url)
    return Agent(chat_generator=llm, tools=[TOOL])


def test_agent_with_tool(runtime: genops.GenOps, telemetry, fake, base_url) -> None:
    fake.script(
        Reply.json(wire.chat_completion(MODEL, usage=wire.chat_usage(30, 5), tool_call=True)),
        Reply.json(wire.chat_completion(MODEL, "It is sunny.", usage=wire.chat_usage(50, 6))),
    )
    handle = genops_haystack.enable()
    try:
        out = agent(base_url).run(messages=[ChatMessage.from_user("weather in Paris?")])
    finally:
        handle.disable()
    assert out["messages"][-1].text == "It is sunny."
    assert fake.request_count == 2
    spans = telemetry.spans()
    shape = tree(spans)
    assert shape.count((f"chat {MODEL}", "haystack.agent.step")) == 2
    assert ("execute_tool get_weather", "haystack.agent.step") in shape
    assert shape.count(("haystack.agent.step", "invoke_agent agent")) == 2
    units = [s for s in spans if s.name == f"chat {MODEL}"]
    assert sorted(s.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] for s in units) == [30, 50]
    root = telemetry.span("invoke_agent agent")
    total = sum(s.attributes["genops.cost.total"] for s in units)
    assert root.attributes["genops.rollup.cost.total"] == pytest.approx(total)


def test_native_sdk_layer_adds_to_the_component_unit(runtime, telemetry, fake, base_url) -> None:
    genops_native = pytest.importorskip("genops_native")
    native = genops_native.instrument_openai()
    handle = genops_haystack.enable()
    try:
        llm = OpenAIChatGenerator(
            api_key=Secret.from_token("k"), model=MODEL, api_base_url=base_url
        )
        from haystack import Pipeline

        p = Pipeline()
        p.add_component("llm", llm)
        p.run({"llm": {"messages": [ChatMessage.from_user("hi")]}})
    finally:
        handle.disable()
        native.uninstrument()
    assert fake.request_count == 1
    units = [s for s in telemetry.spans() if A.SPEC_VERSION in (s.attributes or {})]
    cost_bearing = [s for s in units if s.attributes[A.ACCOUNTING_ACTUAL] > 0]
    assert [s.name for s in cost_bearing] == [f"chat {MODEL}"]
    assert cost_bearing[0].attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21


async def test_agent_component_in_a_pipeline_sync_and_async(
    runtime: genops.GenOps, telemetry, fake, base_url
) -> None:
    from haystack import Pipeline

    handle = genops_haystack.enable()
    try:
        for mode in ("run", "run_async"):
            telemetry.exporter.clear()
            fake.script(
                Reply.json(wire.chat_completion(MODEL, usage=wire.chat_usage(30, 5), tool_call=True)),
                Reply.json(wire.chat_completion(MODEL, "It is sunny.", usage=wire.chat_usage(50, 6))),
            )  # fmt: skip
            p = Pipeline(metadata={"name": "support"})
            p.add_component("helper", agent(base_url))
            data = {"helper": {"messages": [ChatMessage.from_user("weather in Paris?")]}}
            out = p.run(data) if mode == "run" else await p.run_async(data)
            assert out["helper"]["messages"][-1].text == "It is sunny.", mode
            spans = telemetry.spans()
            shape = tree(spans)
            assert ("invoke_agent helper", "invoke_workflow support") in shape, mode
            assert shape.count(("haystack.agent.step", "invoke_agent helper")) == 2, mode
            assert shape.count((f"chat {MODEL}", "haystack.agent.step")) == 2, mode
            assert ("execute_tool get_weather", "haystack.agent.step") in shape, mode
            assert len(spans) == 7, mode  # workflow, agent, 2 steps, 2 calls, 1 tool
            units = [s for s in spans if s.name == f"chat {MODEL}"]
            total = sum(s.attributes["genops.cost.total"] for s in units)
            root = telemetry.span("invoke_workflow support")
            assert root.attributes["genops.rollup.cost.total"] == pytest.approx(total), mode
            agent_span = telemetry.span("invoke_agent helper")
            assert agent_span.attributes[A.GEN_AI_AGENT_NAME] == "helper", mode
    finally:
        handle.disable()
    assert fake.request_count == 4
