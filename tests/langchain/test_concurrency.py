"""Parenting under concurrency: parallel branches, thread pools, asyncio tasks; the bounded
run map; the cost owner the SDK layer sees inside the model call."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel
from opentelemetry.trace import StatusCode

import genops
from genops import attributes as A
from genops_langchain import GenOpsCallbackHandler
from tests.langchain.conftest import by_name, parent_of, tree
from tests.langchain.fakes import FakeChat, answer
from tests.langchain.test_rag import QUESTION, rag_chain

PROMPT = ChatPromptTemplate.from_messages([("human", "{question}")])


def two_models() -> RunnableParallel[Any]:
    fast = (PROMPT | FakeChat.cycling(answer("a"), model_name="gpt-4o-mini")).with_config(
        run_name="branch-mini"
    )
    big = (
        PROMPT | FakeChat.cycling(answer("b", model="gpt-4o-2024-08-06"), model_name="gpt-4o")
    ).with_config(run_name="branch-4o")
    return RunnableParallel(mini=fast, big=big).with_config(run_name="fan-out")


EXPECTED_PARALLEL = sorted(
    [
        ("invoke_workflow fan-out", None),
        ("branch-mini", "invoke_workflow fan-out"),
        ("branch-4o", "invoke_workflow fan-out"),
        ("ChatPromptTemplate", "branch-mini"),
        ("ChatPromptTemplate", "branch-4o"),
        ("chat gpt-4o-mini", "branch-mini"),
        ("chat gpt-4o", "branch-4o"),
    ]
)


def _check_parallel(telemetry) -> None:
    spans = telemetry.spans()
    assert tree(spans) == EXPECTED_PARALLEL
    root = telemetry.span("invoke_workflow fan-out")
    assert root.attributes[A.ROLLUP_UNITS] == 2
    mini = telemetry.span("chat gpt-4o-mini").attributes[A.COST_TOTAL]
    big = telemetry.span("chat gpt-4o").attributes[A.COST_TOTAL]
    assert big > mini > 0
    assert root.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(mini + big)
    assert telemetry.span("branch-4o").attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(big)


def test_parallel_branches_sync(telemetry, handler):
    out = two_models().invoke({"question": "q"}, config={"callbacks": [handler]})
    assert (out["mini"].content, out["big"].content) == ("a", "b")
    _check_parallel(telemetry)


async def test_parallel_branches_async(telemetry, handler):
    await two_models().ainvoke({"question": "q"}, config={"callbacks": [handler]})
    _check_parallel(telemetry)


def _check_under_user_spans(telemetry, n: int) -> None:
    spans = telemetry.spans()
    users = [s for s in spans if s.name.startswith("request ")]
    assert len(users) == n
    for user in users:
        mine = [s for s in spans if s.context.trace_id == user.context.trace_id]
        root = next(s for s in mine if s.name == "invoke_workflow support-rag")
        assert parent_of(root, mine) is user
        assert len(mine) == 10  # user span + the 9 spans of one RAG run
        chat = next(s for s in mine if s.name == "chat gpt-4o-mini")
        assert parent_of(chat, mine) is root


def test_runs_in_a_thread_pool_nest_under_each_threads_span(telemetry, handler):
    chain = rag_chain(FakeChat.cycling(answer("5 days")))

    def work(i: int) -> str:
        with telemetry.tracer.start_as_current_span(f"request {i}"):
            return chain.invoke(QUESTION, config={"callbacks": [handler]})

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(work, range(8))) == ["5 days"] * 8
    _check_under_user_spans(telemetry, 8)
    assert handler.open_runs == 0


async def test_concurrent_tasks_nest_under_each_tasks_span(telemetry, handler):
    chain = rag_chain(FakeChat.cycling(answer("5 days")))

    async def work(i: int) -> str:
        with telemetry.tracer.start_as_current_span(f"request {i}"):
            await asyncio.sleep(0)
            return await chain.ainvoke(QUESTION, config={"callbacks": [handler]})

    assert await asyncio.gather(*(work(i) for i in range(8))) == ["5 days"] * 8
    _check_under_user_spans(telemetry, 8)
    assert handler.open_runs == 0


def test_bounded_run_map_evicts_runs_that_never_end(telemetry, runtime):
    handler = GenOpsCallbackHandler(max_open_runs=2)
    orphan_chain, orphan_chat = uuid4(), uuid4()
    # runs that start and never report an end (e.g. a framework bug, a killed task)
    handler.on_chain_start(None, {}, run_id=orphan_chain, name="orphan")
    handler.on_chat_model_start(
        None,
        [[HumanMessage("hello")]],
        run_id=orphan_chat,
        parent_run_id=orphan_chain,
        metadata={"ls_provider": "openai", "ls_model_name": "gpt-4o-mini"},
    )
    assert handler.open_runs == 2
    model = FakeChat.cycling(answer("ok"))
    model.invoke("one", config={"callbacks": [handler]})  # evicts the orphan chain
    evicted = telemetry.span("invoke_workflow orphan")
    assert evicted.status.status_code is StatusCode.ERROR
    assert evicted.attributes[A.ERROR_TYPE] == "genops.adapter.RunEvicted"
    assert evicted.events == ()  # no exception event for an eviction
    # a chain holds two runs open at once: the second one evicts the orphan chat unit
    (PROMPT | model).invoke({"question": "two"}, config={"callbacks": [handler]})
    assert handler.open_runs == 0
    chats = by_name(telemetry.spans())["chat gpt-4o-mini"]
    assert len(chats) == 3
    (orphan,) = [s for s in chats if s.status.status_code is StatusCode.ERROR]
    assert orphan.attributes[A.ERROR_TYPE] == "genops.adapter.RunEvicted"
    assert orphan.attributes[A.ACCOUNTING_ACTUAL] == 0.0  # reservation released, not billed
    assert parent_of(orphan, telemetry.spans()) is evicted


def test_abandoned_stream_ends_every_span(telemetry, handler):
    chain = rag_chain(FakeChat.cycling(answer("one two three four")))
    stream = chain.stream(QUESTION, config={"callbacks": [handler]})
    assert next(stream)
    stream.close()
    assert handler.open_runs == 0
    assert len(telemetry.spans()) == 9


def test_hidden_runs_are_folded_into_their_parent(telemetry, handler):
    hidden = RunnableLambda(lambda x: x).with_config(run_name="internal", tags=["langsmith:hidden"])
    chain = (hidden | PROMPT | FakeChat.cycling(answer("ok"))).with_config(run_name="ask")
    chain.invoke({"question": "q"}, config={"callbacks": [handler]})
    assert "internal" not in by_name(telemetry.spans())
    assert handler.open_runs == 0


class CoverSpy(FakeChat):
    """Records the cost owner an SDK layer would see inside the provider call."""

    seen: list[Any] = []

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        unit = genops.covering_unit()
        self.seen.append(unit.span.name if unit is not None else None)
        return super()._generate(messages, *args, **kwargs)


async def test_the_model_call_sees_the_chat_unit_as_cost_owner(telemetry, handler):
    spy = CoverSpy.cycling(answer("a b"), seen=[])
    chain = PROMPT | spy
    config = {"callbacks": [handler]}
    chain.invoke({"question": "q"}, config=config)
    list(chain.stream({"question": "q"}, config=config))
    await chain.ainvoke({"question": "q"}, config=config)
    [c async for c in chain.astream({"question": "q"}, config=config)]
    chain.batch([{"question": "q"}] * 2, config=config)
    await chain.abatch([{"question": "q"}] * 2, config=config)
    assert spy.seen == ["chat gpt-4o-mini"] * 8
    # outside a run, nothing covers provider calls
    assert genops.covering_unit() is None
