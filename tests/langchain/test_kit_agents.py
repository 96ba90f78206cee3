"""LangChain v1 agents (create_agent / LangGraph) on the kit, the essential-spans option,
parallel runs inside the user's own unit, and quiet policy blocks."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableParallel
from langchain_core.tools import tool

import genops
from genops import attributes as A
from genops_langchain import GenOpsCallbackHandler
from tests.langchain.conftest import native_chat_openai, tree
from tests.langchain.fakes import FakeChat, answer

langchain_agents = pytest.importorskip("langchain.agents")
pytest.importorskip("langchain_openai")
genops_native = pytest.importorskip("genops_native")
from langchain_openai import ChatOpenAI  # noqa: E402

MODEL = "gpt-4o-mini-2024-07-18"
USAGE = {"prompt_tokens": 900, "completion_tokens": 100, "total_tokens": 1000}
COST = 0.000195  # 900 × $0.15/M + 100 × $0.60/M


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class ToolThenAnswer:
    """Fake OpenAI chat endpoint: a tool call when the last message is the user's, then
    the answer once the tool result is in."""

    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        last = body["messages"][-1]
        if last["role"] == "tool":
            message = {"role": "assistant", "content": f"The sum is {last['content']}"}
            finish = "stop"
        else:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{len(self.requests)}",
                        "type": "function",
                        "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
                    }
                ],
            }
            finish = "tool_calls"
        return httpx.Response(
            200,
            json={
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": MODEL,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": USAGE,
            },
        )


@pytest.fixture
def provider() -> ToolThenAnswer:
    return ToolThenAnswer()


@pytest.fixture
def chat(provider: ToolThenAnswer) -> Iterator[ChatOpenAI]:
    with native_chat_openai(provider) as model:
        yield model


def cost_bearing(telemetry):
    return [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in (s.attributes or {})]


def _assert_agent_run(telemetry, provider, calls: int) -> None:
    units = cost_bearing(telemetry)
    assert [u.name for u in units] == ["chat gpt-4o-mini", "chat gpt-4o-mini"]
    for unit in units:  # one cost-bearing span per provider call, usage from the SDK
        assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 900
        assert unit.attributes[A.COST_TOTAL] == pytest.approx(COST)
    agent = telemetry.span("invoke_agent calc")
    assert agent.attributes[A.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert agent.attributes[A.GEN_AI_AGENT_NAME] == "calc"
    assert agent.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(2 * COST)
    assert agent.attributes[A.ROLLUP_UNITS] == 2
    assert agent.attributes[A.TEAM] == "platform"
    tool_span = telemetry.span("execute_tool add")
    assert tool_span.attributes[A.GEN_AI_TOOL_CALL_ID].startswith("call_")
    assert len(provider.requests) == calls


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_create_agent_is_an_agent_span_with_tools_and_governed_model_calls(
    telemetry, runtime, chat, provider, mode
):
    handler = GenOpsCallbackHandler()
    agent = langchain_agents.create_agent(chat, tools=[add], name="calc")
    inputs = {"messages": [("user", "what is 2 + 3?")]}
    config = {"callbacks": [handler]}
    if mode == "invoke":
        result = agent.invoke(inputs, config=config)
    else:
        result = await agent.ainvoke(inputs, config=config)
    assert result["messages"][-1].content == "The sum is 5"
    _assert_agent_run(telemetry, provider, calls=2)
    shape = tree(telemetry.spans())
    assert ("invoke_agent calc", None) in shape
    assert shape.count(("chat gpt-4o-mini", "model")) == 2  # LangGraph's node runs
    assert ("execute_tool add", "tools") in shape
    assert handler.open_runs == 0


def test_essential_spans_keep_agents_tools_and_model_calls_only(telemetry, runtime, chat, provider):
    handler = GenOpsCallbackHandler(spans="essential")
    agent = langchain_agents.create_agent(chat, tools=[add], name="calc")
    agent.invoke({"messages": [("user", "2 + 3?")]}, config={"callbacks": [handler]})
    assert tree(telemetry.spans()) == [
        ("chat gpt-4o-mini", "invoke_agent calc"),
        ("chat gpt-4o-mini", "invoke_agent calc"),
        ("execute_tool add", "invoke_agent calc"),
        ("invoke_agent calc", None),
    ]
    _assert_agent_run(telemetry, provider, calls=2)
    assert handler.open_runs == 0
    with pytest.raises(ValueError, match="spans"):
        GenOpsCallbackHandler(spans="some")


def test_essential_spans_fold_a_chains_inner_runnables_into_the_workflow(telemetry, runtime):
    """``prompt | model | parser``: 2 spans (the official OTel GenAI instrumentation's
    shape) instead of 4; the workflow's roll-up still counts the model call."""
    handler = GenOpsCallbackHandler(spans="essential")
    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
    chain = prompt | FakeChat.cycling(answer("five days")) | StrOutputParser()
    assert chain.invoke({"question": "q"}, config={"callbacks": [handler]}) == "five days"
    assert tree(telemetry.spans()) == [
        ("chat gpt-4o-mini", "invoke_workflow RunnableSequence"),
        ("invoke_workflow RunnableSequence", None),
    ]
    spans = {s.name: s for s in telemetry.spans()}
    unit, workflow = spans["chat gpt-4o-mini"], spans["invoke_workflow RunnableSequence"]
    assert workflow.attributes[A.ROLLUP_UNITS] == 1
    assert workflow.attributes[A.ROLLUP_COST_TOTAL] == unit.attributes[A.COST_TOTAL] > 0
    assert handler.open_runs == 0


def test_parallel_runs_inside_the_users_unit_count_every_call(telemetry, runtime):
    """The undercount: two parallel LLM runs in the user's unit recorded 1,000 input
    tokens instead of 2,000 (a usage-comparison heuristic); claims count each once."""
    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
    handler = GenOpsCallbackHandler()
    both = RunnableParallel(
        a=prompt | FakeChat.cycling(answer("a")), b=prompt | FakeChat.cycling(answer("b"))
    )
    with genops.governed("turn", provider="openai", model="gpt-4o-mini", span_name="turn"):
        both.invoke({"question": "q"}, config={"callbacks": [handler]})
    (unit,) = cost_bearing(telemetry)
    assert unit.name == "turn"
    assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 2000
    assert handler.open_runs == 0


async def test_parallel_sdk_calls_inside_the_users_unit_count_once_each(
    telemetry, runtime, chat, provider
):
    handler = GenOpsCallbackHandler()
    with genops.governed("turn", provider="openai", model="gpt-4o-mini", span_name="turn"):
        await chat.abatch(["one", "two", "three"], config={"callbacks": [handler]})
        chat.batch(["four", "five"], config={"callbacks": [handler]})
    (unit,) = cost_bearing(telemetry)
    assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 5 * 900  # SDK-reported, once
    assert unit.attributes[A.COST_TOTAL] == pytest.approx(5 * COST)
    assert len(provider.requests) == 5


def test_a_policy_block_is_not_logged_as_a_callback_error(telemetry, runtime, caplog):
    genops.register_policy(
        "approved-models", lambda r: r.model != "gpt-4o-mini", reason_code="POLICY_DENY_MODEL"
    )
    handler = GenOpsCallbackHandler()
    model = FakeChat.cycling(answer("never"))
    with caplog.at_level(logging.WARNING, logger="langchain_core.callbacks.manager"):
        with pytest.raises(genops.PolicyViolationError):
            model.invoke("hi", config={"callbacks": [handler]})
        with pytest.raises(genops.PolicyViolationError):
            model.invoke("hi", config={"callbacks": [handler]})
    assert model.stats["calls"] == 0
    assert not [r for r in caplog.records if "GenOpsCallbackHandler" in r.getMessage()]
    assert handler.open_runs == 0
