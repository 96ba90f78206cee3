"""Haystack's OpenAIChatGenerator over the genops-native OpenAI layer: exactly one
cost-bearing span per provider call (the component's unit owns it; the SDK layer adds
its usage through the claim), sync, async and streamed; api.openai.com on an httpx
transport, a known gateway host, and a gateway-style base URL (a real loopback server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from haystack import Pipeline
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage
from haystack.utils import Secret

import genops
import genops_haystack
from genops import attributes as A
from tests.conftest import Telemetry
from tests.fakes.provider import FakeProvider
from tests.langchain.conftest import tree

genops_native = pytest.importorskip("genops_native")

MODEL = "gpt-4o-mini"
#: 21 input tokens (5 cached), 7 output tokens at gpt-4o-mini prices
CHAT_COST = 16 * 0.15e-6 + 5 * 0.075e-6 + 7 * 0.6e-6


@pytest.fixture
def layers(runtime: genops.GenOps) -> Iterator[None]:
    native = genops_native.instrument_openai()
    handle = genops_haystack.enable()
    yield
    handle.disable()
    native.uninstrument()


def generator(fake: FakeProvider | None, base_url: str | None = None, **kw: Any) -> Any:
    transport = {"http_client_kwargs": {"transport": fake.transport()}} if fake else {}
    return OpenAIChatGenerator(
        api_key=Secret.from_token("k"), model=MODEL, api_base_url=base_url, **transport, **kw
    )


def pipeline(llm: Any) -> Pipeline:
    p = Pipeline(metadata={"name": "chat"})
    p.add_component("llm", llm)
    return p


def cost_bearing(telemetry: Telemetry) -> list[Any]:
    return [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in (s.attributes or {})]


def assert_one(telemetry: Telemetry, mode: str, *, streamed: bool, priced: bool = True) -> Any:
    (unit,) = cost_bearing(telemetry)
    assert unit.name == f"chat {MODEL}", mode
    assert tree(telemetry.spans()) == [(f"chat {MODEL}", "invoke_workflow chat"),
                                       ("invoke_workflow chat", None)], mode  # fmt: skip
    attrs = unit.attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 21, mode
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 7, mode
    assert attrs.get(A.GEN_AI_REQUEST_STREAM, False) is streamed, mode
    root = telemetry.span("invoke_workflow chat")
    if priced:
        assert attrs[A.COST_TOTAL] == pytest.approx(CHAT_COST), mode
        assert root.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(CHAT_COST), mode
    else:  # priced for the provider the SDK layer detected: unknown, never $0
        assert attrs[A.COST_UNKNOWN] is True and A.COST_TOTAL not in attrs, mode
    return unit


MESSAGES = {"llm": {"messages": [ChatMessage.from_user("hi")]}}


async def test_api_openai_com_sync_async_streamed(layers, telemetry, fake) -> None:
    chunks: list[Any] = []
    runs = [
        ("run", False, lambda: pipeline(generator(fake)).run(MESSAGES)),
        ("stream", True,
         lambda: pipeline(generator(fake, streaming_callback=chunks.append)).run(MESSAGES)),
    ]  # fmt: skip
    for mode, streamed, run in runs:
        telemetry.exporter.clear()
        run()
        unit = assert_one(telemetry, mode, streamed=streamed)
        assert unit.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
        assert unit.attributes[A.SERVER_ADDRESS] == "api.openai.com"  # a known host
    assert chunks
    telemetry.exporter.clear()
    await pipeline(generator(fake)).run_async(MESSAGES)
    assert_one(telemetry, "run_async", streamed=False)
    assert fake.request_count == 3
    assert all(r.path == "/v1/chat/completions" for r in fake.requests)
    cost = telemetry.metrics()[A.METRIC_COST]
    assert sum(p.value for p in cost) == pytest.approx(3 * CHAT_COST)


def test_gateway_style_base_url(layers, telemetry, fake, base_url) -> None:
    """A private gateway (a real loopback server): the component's provider prices it."""
    pipeline(generator(None, base_url)).run(MESSAGES)
    assert fake.request_count == 1
    unit = assert_one(telemetry, "gateway", streamed=False)
    assert unit.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert unit.attributes[A.SERVER_ADDRESS] == "127.0.0.1"
    assert unit.attributes["genops.provider.source"] == "framework"  # inferred, and says so


def test_known_gateway_host(layers, telemetry, fake) -> None:
    """groq's OpenAI-compatible endpoint: the SDK layer's detected provider is kept."""
    pipeline(generator(fake, "https://api.groq.com/openai/v1")).run(MESSAGES)
    unit = assert_one(telemetry, "groq", streamed=False, priced=False)
    assert unit.attributes[A.GEN_AI_PROVIDER_NAME] == "groq"
    assert unit.attributes[A.SERVER_ADDRESS] == "api.groq.com"
