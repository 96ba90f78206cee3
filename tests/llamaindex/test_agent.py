"""Agents and workflows: FunctionAgent, AgentWorkflow and custom Workflow steps run as
asyncio tasks; their LLM calls and tools keep their parents and roll up to the agent."""

from __future__ import annotations

import pytest
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from llama_index.core.workflow import Context, StartEvent, StopEvent, Workflow, step
from llama_index.llms.openai import OpenAI

import genops
from genops import attributes as A
from tests.conftest import Telemetry
from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply
from tests.llamaindex.conftest import MODEL, outline, parent_of

TOOL_TURN = wire.chat_completion(MODEL, usage=wire.chat_usage(10, 2), tool_call=True)
ANSWER_TURN = wire.chat_completion(MODEL, "It is sunny", usage=wire.chat_usage(20, 4))
COST = (30 * 0.15 + 6 * 0.6) * 1e-6


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _agent(llm: OpenAI) -> FunctionAgent:
    return FunctionAgent(
        name="weather", tools=[get_weather], llm=llm, streaming=False, system_prompt="Be brief."
    )


async def test_function_agent_tree_and_rollup(
    telemetry: Telemetry, instrumented: object, llm: OpenAI, fake: FakeProvider
) -> None:
    fake.script(Reply.json(TOOL_TURN), Reply.json(ANSWER_TURN))
    with genops.attribution(customer_id="acme"):
        with telemetry.tracer.start_as_current_span("request"):
            result = await _agent(llm).run("Weather in Paris?")
    assert str(result) == "It is sunny"
    assert fake.request_count == 2
    spans = telemetry.spans()
    assert outline(spans) == [
        "request",
        "  invoke_agent weather",
        "    BaseWorkflowAgent.init_run",
        "    BaseWorkflowAgent.setup_agent",
        "    BaseWorkflowAgent.run_agent_step",
        f"      chat {MODEL}",
        "    BaseWorkflowAgent.parse_agent_output",
        "    BaseWorkflowAgent.call_tool",
        "      execute_tool get_weather",
        "    BaseWorkflowAgent.aggregate_tool_results",
        "    BaseWorkflowAgent.setup_agent",
        "    BaseWorkflowAgent.run_agent_step",
        f"      chat {MODEL}",
        "    BaseWorkflowAgent.parse_agent_output",
    ]
    agent = telemetry.span("invoke_agent weather")
    assert agent.attributes[A.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert agent.attributes[A.GEN_AI_AGENT_NAME] == "weather"
    assert agent.attributes[A.CUSTOMER_ID] == "acme"
    assert agent.attributes[A.ROLLUP_UNITS] == 2
    assert agent.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(COST)
    tool = telemetry.span("execute_tool get_weather")
    assert tool.attributes[A.GEN_AI_TOOL_NAME] == "get_weather"
    assert tool.attributes[A.GEN_AI_OPERATION_NAME] == "execute_tool"
    for chat in (s for s in spans if s.name == f"chat {MODEL}"):
        assert chat.attributes[A.CUSTOMER_ID] == "acme"  # attribution crosses the step tasks
        assert parent_of(chat, spans).name == "BaseWorkflowAgent.run_agent_step"
    assert instrumented.instrumentation.tree.__len__() == 0  # type: ignore[attr-defined]


async def test_agent_workflow(
    telemetry: Telemetry, instrumented: object, llm: OpenAI, fake: FakeProvider
) -> None:
    fake.script(Reply.json(TOOL_TURN), Reply.json(ANSWER_TURN))
    flow = AgentWorkflow(agents=[_agent(llm)], root_agent="weather")
    result = await flow.run(user_msg="Weather in Paris?")
    assert str(result) == "It is sunny"
    spans = telemetry.spans()
    root = telemetry.span("invoke_workflow AgentWorkflow")
    assert root.parent is None
    assert root.attributes[A.GEN_AI_WORKFLOW_NAME] == "AgentWorkflow"
    assert root.attributes[A.ROLLUP_UNITS] == 2
    assert root.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(COST)
    tool = telemetry.span("execute_tool get_weather")
    assert parent_of(parent_of(tool, spans), spans) is not None
    assert all(s.context.trace_id == root.context.trace_id for s in spans)


class Summarize(Workflow):
    """Two steps; the second calls the LLM (a custom workflow's steps run as tasks)."""

    def __init__(self, llm: OpenAI) -> None:
        super().__init__(timeout=10)
        self.llm = llm

    @step
    async def draft(self, ctx: Context, ev: StartEvent) -> StopEvent:
        text = await self.llm.acomplete(f"Summarize: {ev.topic}")
        return StopEvent(result=text.text)


async def test_custom_workflow_steps(
    telemetry: Telemetry, instrumented: object, llm: OpenAI
) -> None:
    with telemetry.tracer.start_as_current_span("request"):
        result = await Summarize(llm).run(topic="rivers")
    assert result == "Hello!"
    assert outline(telemetry.spans()) == [
        "request",
        "  invoke_workflow Summarize",
        "    Summarize.draft",
        f"      text_completion {MODEL}",
    ]
    flow = telemetry.span("invoke_workflow Summarize")
    assert flow.attributes[A.ROLLUP_UNITS] == 1


async def test_agent_inside_a_users_unit_accounts_to_that_unit(
    telemetry: Telemetry, instrumented: object, llm: OpenAI, fake: FakeProvider
) -> None:
    """The user's unit owns the cost; the agent's LLM calls (in workflow step tasks)
    are plain spans whose usage goes to it, counted once."""
    fake.script(Reply.json(TOOL_TURN), Reply.json(ANSWER_TURN))
    with genops.governed("answer", provider="openai", model=MODEL) as unit:
        await _agent(llm).run("Weather in Paris?")
    assert unit.provider_calls == 2
    cost_bearing = [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in (s.attributes or {})]
    assert [s.name for s in cost_bearing] == [f"chat {MODEL}"]
    assert cost_bearing[0].parent is None  # the user's own unit
    assert cost_bearing[0].attributes[A.COST_TOTAL] == pytest.approx(COST)
    plain = [s for s in telemetry.spans() if s.name == f"chat {MODEL}" and s.parent is not None]
    assert len(plain) == 2
    assert all(A.ACCOUNTING_ACTUAL not in s.attributes for s in plain)
