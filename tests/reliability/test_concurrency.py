"""Concurrency: asyncio tasks × 10 teams and a 16-thread pool, through the real OpenAI
SDK and through LangChain. Every call's span carries its own task's team (0 bleed),
every span ends (is exported), the LangChain handler's run map is empty afterwards and
no budget is left reserved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from langchain_core.runnables import RunnableLambda

import genops
import genops_native
from genops import attributes as A
from genops.policy import Engine
from genops.policy.loader import build_engine
from genops_langchain import GenOpsCallbackHandler
from tests.conftest import Telemetry
from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply
from tests.langchain.fakes import FakeChat, answer

TEAMS = 10
SIZES = [100, pytest.param(1000, marks=pytest.mark.heavy)]
DOC = {"version": 1, "policies": [
    {"name": "spend", "type": "budget", "limit": 1000, "window": "daily", "per": "team"}]}  # fmt: skip


class Echo(FakeProvider):
    """Answers with the request's user text as the response id (which task sent it)."""

    def respond(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        body = json.loads(raw)
        reply = wire.chat_completion(str(body["model"]), usage=wire.chat_usage(10, 5))
        reply["id"] = body["messages"][-1]["content"]
        return Reply.json(reply)

    def async_transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0.001)  # let the other tasks run in between
            reply = self.respond(request.method, request.url.path, {}, request.read())
            return httpx.Response(reply.status, content=reply.body)

        return httpx.MockTransport(handle)


@pytest.fixture
def sdk(make_genops: Any) -> Iterator[genops.GenOps]:
    """genops with a per-team budget, the OpenAI SDK instrumented."""
    runtime = make_genops(policy=build_engine(DOC))
    handle = genops_native.instrument_openai()
    yield runtime
    handle.uninstrument()


def team_of(i: int) -> str:
    return f"t{i % TEAMS}"


def assert_no_bleed_and_nothing_reserved(spans: list[Any], calls: int) -> None:
    by_task = {str(s.attributes[A.GEN_AI_RESPONSE_ID]): s for s in spans}
    assert len(spans) == len(by_task) == calls  # every span ended, one per call
    for task, span in by_task.items():
        assert span.attributes[A.TEAM] == team_of(int(task.split("-")[1])), task
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine)
    for t in range(TEAMS):
        assert engine.budget_status("spend", team=f"t{t}").reserved == 0


@pytest.mark.parametrize("tasks", SIZES)
async def test_sdk_asyncio_tasks(sdk: genops.GenOps, telemetry: Telemetry, tasks: int) -> None:
    echo = Echo()
    client = openai.AsyncOpenAI(
        api_key="k", max_retries=0, http_client=httpx.AsyncClient(transport=echo.async_transport())
    )

    async def one(i: int) -> None:
        with genops.attribution(team=team_of(i)):
            await asyncio.sleep(0)
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"task-{i}"}]
            )

    await asyncio.gather(*(one(i) for i in range(tasks)))
    assert_no_bleed_and_nothing_reserved(telemetry.spans(), tasks)


def test_sdk_16_thread_pool(sdk: genops.GenOps, telemetry: Telemetry) -> None:
    echo = Echo()
    client = openai.OpenAI(
        api_key="k", max_retries=0, http_client=httpx.Client(transport=echo.transport())
    )

    def one(i: int) -> None:
        with genops.attribution(team=team_of(i)):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"task-{i}"}]
            )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(400)))
    assert_no_bleed_and_nothing_reserved(telemetry.spans(), 400)


def langchain_spans_by_task(telemetry: Telemetry, calls: int) -> None:
    spans = telemetry.spans()
    by_id = {s.context.span_id: s for s in spans}
    roots = {s.name: s for s in spans if "task-" in s.name}
    assert len(roots) == calls
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert len(chats) == calls  # every governed call ended
    for chat in chats:
        parent = chat
        while "task-" not in parent.name:
            assert parent.parent is not None
            parent = by_id[parent.parent.span_id]
        task = int(parent.name.rsplit("-", 1)[1])
        assert chat.attributes[A.TEAM] == parent.attributes[A.TEAM] == team_of(task)


def chain() -> Any:
    async def hop(value: dict[str, str]) -> str:
        await asyncio.sleep(0.001)
        return value["q"]

    return RunnableLambda(lambda v: v["q"], afunc=hop) | FakeChat.cycling(answer("ok"))


@pytest.mark.parametrize("tasks", SIZES)
async def test_langchain_asyncio_tasks(make_genops: Any, telemetry: Telemetry, tasks: int) -> None:
    make_genops(policy=build_engine(DOC))
    handler, runnable = GenOpsCallbackHandler(), chain()

    async def one(i: int) -> None:
        with genops.attribution(team=team_of(i)):
            await runnable.ainvoke(
                {"q": f"question {i}"}, config={"callbacks": [handler], "run_name": f"task-{i}"}
            )

    await asyncio.gather(*(one(i) for i in range(tasks)))
    assert handler.open_runs == 0
    langchain_spans_by_task(telemetry, tasks)


def test_langchain_16_thread_pool(make_genops: Any, telemetry: Telemetry) -> None:
    make_genops(policy=build_engine(DOC))
    handler, runnable = GenOpsCallbackHandler(), chain()

    def one(i: int) -> None:
        with genops.attribution(team=team_of(i)):
            runnable.invoke(
                {"q": f"question {i}"}, config={"callbacks": [handler], "run_name": f"task-{i}"}
            )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(400)))
    assert handler.open_runs == 0
    langchain_spans_by_task(telemetry, 400)
