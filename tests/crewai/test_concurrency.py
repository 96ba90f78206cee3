"""Async kickoff, concurrent crews for different customers, parallel tasks, and the SDK
layer underneath (genops-native): parents, attribution, each provider call counted once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from crewai import Crew
from opentelemetry.sdk.trace import ReadableSpan

import genops
import genops_native
from genops import attributes as A
from tests.conftest import Telemetry
from tests.crewai import crews as C
from tests.crewai.test_crew import attrs
from tests.spans import parent_of

# the fake's default answer: tests/fakes/provider.py DEFAULT_CHAT_USAGE
INPUT, OUTPUT = 21, 7


@pytest.fixture
def native() -> Iterator[None]:
    handle = genops_native.instrument_openai()
    yield
    handle.uninstrument()


def root_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan:
    while (parent := parent_of(span, spans)) is not None:
        span = parent
    return span


def one_agent_crew(url: str, role: str) -> Crew:
    agent = C.writer(C.gateway_llm(url))
    agent.role = role
    return Crew(agents=[agent], tasks=[C.writing_task(agent)], name=f"crew-{role}")


@pytest.mark.parametrize("entry", ["kickoff_async", "akickoff"])
async def test_concurrent_crews_for_two_customers(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any, native: None, entry: str
) -> None:
    provider, url = fake
    govern(team="support")
    tracer = telemetry.tracer

    async def run(customer: str) -> Any:
        with genops.attribution(customer_id=customer), tracer.start_as_current_span(customer):
            return await getattr(one_agent_crew(url, f"Agent {customer}"), entry)()

    outs = await asyncio.gather(run("acme"), run("globex"))

    assert [o.raw for o in outs] == ["Hello!", "Hello!"]
    assert provider.chat_requests == 2
    spans = telemetry.spans()
    units = [s for s in spans if attrs(s).get(A.SPEC_VERSION)]
    assert len(units) == 2  # one cost-bearing span per provider call (native covered)
    for customer in ("acme", "globex"):
        chat = next(u for u in units if attrs(u)[A.CUSTOMER_ID] == customer)
        assert attrs(chat)[A.GEN_AI_USAGE_INPUT_TOKENS] == INPUT
        assert attrs(chat)[A.GEN_AI_AGENT_NAME] == f"Agent {customer}"
        agent = parent_of(chat, spans)
        assert agent is not None and agent.name == f"invoke_agent Agent {customer}"
        crew = parent_of(agent, spans)
        assert crew is not None and crew.name == f"invoke_workflow crew-Agent {customer}"
        assert attrs(crew)[A.CUSTOMER_ID] == customer
        assert attrs(crew)[A.ROLLUP_TOKENS_INPUT] == INPUT
        assert root_of(chat, spans).name == customer  # under the caller's span


def test_parallel_tasks_nest_and_count_once(
    telemetry: Telemetry, govern: Callable[..., Any], fake: Any, native: None
) -> None:
    provider, url = fake
    govern(team="research")
    llm = C.gateway_llm(url)
    agents = [C.writer(llm) for _ in range(3)]
    for i, agent in enumerate(agents):
        agent.role = f"Writer {i}"
    parallel = [
        C.writing_task(agents[0], async_execution=True),
        C.writing_task(agents[1], async_execution=True),
    ]
    final = C.writing_task(agents[2], context=parallel)

    with genops.attribution(customer_id="initech"):
        Crew(agents=agents, tasks=[*parallel, final]).kickoff()

    assert provider.chat_requests == 3
    spans = telemetry.spans()
    crew = telemetry.span("invoke_workflow crew")
    for i in range(3):
        agent = telemetry.span(f"invoke_agent Writer {i}")
        assert parent_of(agent, spans) is crew
        (chat,) = [s for s in spans if parent_of(s, spans) is agent]
        assert chat.name == "chat gpt-4o-mini"
        assert attrs(chat)[A.CUSTOMER_ID] == "initech"
        assert attrs(agent)[A.ROLLUP_TOKENS_INPUT] == INPUT
    assert len([s for s in spans if attrs(s).get(A.SPEC_VERSION)]) == 3
    assert attrs(crew)[A.ROLLUP_UNITS] == 3
    assert attrs(crew)[A.ROLLUP_TOKENS_OUTPUT] == 3 * OUTPUT
