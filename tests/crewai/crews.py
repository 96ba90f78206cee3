"""Real CrewAI parts for the tests: an OpenAI-wire LLM on the fake, agents, a tool."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from crewai import LLM, Agent, Task
from crewai.llms.hooks.base import BaseInterceptor
from crewai.tools import tool

from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply

MODEL = "gpt-4o-mini"
calls = {"lookup": 0}
_lock = threading.Lock()


@tool("lookup")
def lookup(city: str) -> str:
    """Look up today's weather of a city."""
    with _lock:
        calls["lookup"] += 1
    return f"sunny in {city}"


class CrewFake(FakeProvider):
    """The fake provider, also answering OpenAI's input-token count endpoint (CrewAI's
    context-window preflight on api.openai.com) without taking a scripted reply."""

    def respond(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        if path.endswith("/input_tokens"):
            return Reply.json({"object": "response.input_tokens", "input_tokens": 42})
        return super().respond(method, path, headers, raw)

    @property
    def chat_requests(self) -> int:
        return sum(1 for r in self.requests if r.path.endswith("/chat/completions"))


def gateway_llm(base_url: str, model: str = MODEL, **kwargs: Any) -> LLM:
    """A CrewAI LLM on a gateway-style base URL (the fake's loopback address)."""
    return LLM(model=f"openai/{model}", base_url=base_url, api_key="sk-test", **kwargs)


class ToLoopback(BaseInterceptor[httpx.Request, httpx.Response]):
    """CrewAI's own transport interceptor, sending a known host's requests to the fake."""

    def __init__(self, loopback: str) -> None:
        self.target = httpx.URL(loopback)

    def on_outbound(self, message: httpx.Request) -> httpx.Request:
        message.url = message.url.copy_with(
            scheme=self.target.scheme, host=self.target.host, port=self.target.port
        )
        message.headers["host"] = f"{self.target.host}:{self.target.port}"
        return message

    def on_inbound(self, message: httpx.Response) -> httpx.Response:
        return message


def hosted_llm(loopback: str, base_url: str, model: str = MODEL) -> LLM:
    """A CrewAI LLM on a known provider host, its requests answered by the fake."""
    return LLM(model=model, base_url=base_url, api_key="sk-test", interceptor=ToLoopback(loopback))


def answer(text: str, prompt: int, completion: int, model: str = MODEL) -> Reply:
    return Reply.json(wire.chat_completion(model, text, usage=wire.chat_usage(prompt, completion)))


def tool_call(name: str, args: dict[str, Any], prompt: int, completion: int) -> Reply:
    body = wire.chat_completion(MODEL, usage=wire.chat_usage(prompt, completion), tool_call=True)
    call = body["choices"][0]["message"]["tool_calls"][0]
    call["function"] = {"name": name, "arguments": json.dumps(args)}
    return Reply.json(body)


def researcher(llm: LLM, **kwargs: Any) -> Agent:
    return Agent(
        role="Researcher", goal="Find facts", backstory="Careful.", llm=llm, tools=[lookup],
        **kwargs,
    )  # fmt: skip


def writer(llm: LLM, **kwargs: Any) -> Agent:
    return Agent(role="Writer", goal="Write well", backstory="Brief.", llm=llm, **kwargs)


def research_task(agent: Agent | None, **kwargs: Any) -> Task:
    return Task(
        name="weather", description="Find the weather in Paris", expected_output="the weather",
        agent=agent, **kwargs,
    )  # fmt: skip


def writing_task(agent: Agent | None, **kwargs: Any) -> Task:
    return Task(
        description="Write a haiku about it", expected_output="a haiku", agent=agent, **kwargs
    )
