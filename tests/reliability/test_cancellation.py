"""Finding 5: ``asyncio.wait_for(chain.ainvoke(...), timeout)`` cancellations end the
whole LangChain run subtree — every span ends, the handler's run map empties and each
reservation is released at once (not after the reservation TTL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

import genops
from genops.policy import Engine
from genops.policy.loader import build_engine
from genops_langchain import GenOpsCallbackHandler
from tests.conftest import Telemetry
from tests.langchain.fakes import FakeChat, answer

PRICES = [{"provider": "openai", "model": "gpt-4o-mini*", "input": 150, "output": 600}]
STARTED: list[int] = []
SIZES = [100, pytest.param(1000, marks=pytest.mark.heavy)]


class SlowChat(FakeChat):
    """A chat model whose provider call never answers in time."""

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> ChatResult:
        STARTED.append(1)
        await asyncio.sleep(3600)
        raise AssertionError("the call should have been cancelled")


@pytest.mark.parametrize("tasks", SIZES)
async def test_cancelled_async_runs_end_their_subtree_and_release_reservations(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry, tasks: int
) -> None:
    doc = {"version": 1, "policies": [
        {"name": "spend", "type": "budget", "limit": 1000, "window": "daily", "per": "team"}]}  # fmt: skip
    make_genops(policy=build_engine(doc), prices=PRICES)
    handler = GenOpsCallbackHandler()
    model = SlowChat.cycling(answer("never"))
    prompt = ChatPromptTemplate.from_messages([("user", "{q}")])
    chain = prompt | RunnableLambda(lambda v: v) | model

    async def one(i: int) -> None:
        config: Any = {"callbacks": [handler], "metadata": {"genops_team": f"t{i % 10}"}}
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(chain.ainvoke({"q": f"question {i}"}, config=config), 5.0)

    STARTED.clear()
    await asyncio.gather(*(one(i) for i in range(tasks)))
    assert len(STARTED) == tasks  # every provider call was in flight when cancelled
    assert handler.open_runs == 0
    spans = telemetry.spans()
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) == tasks  # every governed call span ended (exported)
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine)
    for t in range(10):
        status = engine.budget_status("spend", team=f"t{t}")
        assert status.reserved == 0
        assert status.consumed == 0
