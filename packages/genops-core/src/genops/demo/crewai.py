"""CrewAI demo scenario (``genops demo``; entry point ``genops.demo``).

content (CrewAI): a two-agent newsletter crew (a researcher with an archive-search tool,
a writer) for two customers, each crew's cost rolled up per agent turn and per crew;
then a researcher reaching for a web browser its team may not use — the ``allowed_tools``
policy stops the tool before it runs and the crew carries on without it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import genops
from genops.demo import DemoContext, Scenario

CUSTOMERS = ("acme", "globex")
TOOL_POLICY = "content-tools"


def _llm(ctx: DemoContext) -> Any:
    from crewai import LLM

    # the loopback provider as an OpenAI-compatible gateway (CrewAI names the provider)
    return LLM(
        model="openai/gpt-4o-mini", api_key="demo", max_tokens=128, base_url=f"{ctx.fake.url}/v1"
    )


def _crew(ctx: DemoContext, topic: str, tool_name: str) -> Any:
    from crewai import Agent, Crew, Task
    from crewai.tools import tool

    @tool(tool_name)
    def search(query: str) -> str:
        """Find material for a newsletter section."""
        return f"three notes about {query[:40]!r}"

    llm = _llm(ctx)
    researcher = Agent(
        role="Researcher", goal="Find material", backstory="Thorough.", llm=llm, tools=[search]
    )
    writer = Agent(role="Writer", goal="Write the section", backstory="Concise.", llm=llm)
    return Crew(
        agents=[researcher, writer],
        tasks=[
            Task(
                description=f"Collect notes on {topic}", expected_output="notes", agent=researcher
            ),
            Task(description=f"Write a section on {topic}", expected_output="text", agent=writer),
        ],
        name="newsletter",
    )


def content(ctx: DemoContext) -> None:
    # the demo promises no network: CrewAI's own telemetry stays off unless the user set it
    os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("CREWAI_DISABLE_VERSION_CHECK", "true")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # chromadb, under CrewAI
    crewai_log = logging.getLogger("crewai")
    level = crewai_log.level
    crewai_log.setLevel(logging.ERROR)  # its approximate-token-count notice, once per call
    try:
        _content(ctx)
    finally:
        crewai_log.setLevel(level)


def _content(ctx: DemoContext) -> None:
    genops.register_policy(
        TOOL_POLICY,
        type="allowed_tools",
        tools=["search_archive"],
        scope={"team": "content"},
        replace=True,
    )
    with genops.attribution(team="content", project="newsletter"):
        for customer in CUSTOMERS:
            with genops.attribution(customer_id=customer):
                _crew(ctx, f"{customer} product news", "search_archive").kickoff()
            ctx.step()
        with genops.attribution(customer_id=CUSTOMERS[0]):
            _crew(ctx, "competitor pricing", "browse_web").kickoff()
        ctx.note(f"tool browse_web stopped by {TOOL_POLICY!r} before it ran; the crew went on")
        ctx.step()


def scenarios() -> list[Scenario]:
    """The CrewAI scenario (none without crewai)."""
    import crewai  # noqa: F401  (ImportError: no CrewAI scenario)

    import genops_crewai  # noqa: F401

    return [
        Scenario("crewai newsletter crew", "crewai", "content", "two agents, a tool blocked",
                 len(CUSTOMERS) + 1, content, ("gpt-4o-mini",)),
    ]  # fmt: skip
