"""Fixtures: real OpenAI / Anthropic SDK clients on the fake provider, genops instrumented."""

from __future__ import annotations

import os

# LiteLLM downloads its price map at import unless told not to: tests send nothing out.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

import genops
import genops_native
from tests.fakes.provider import FakeProvider

OPENAI_URL = "https://api.openai.com/v1"
ANTHROPIC_URL = "https://api.anthropic.com"


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def make_openai(fake: FakeProvider) -> Callable[..., Any]:
    """``make_openai(async_=False, base_url=OPENAI_URL, **client_kwargs)``: a real client
    whose HTTP goes to the fake provider through an httpx transport."""

    def make(async_: bool = False, base_url: str = OPENAI_URL, **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", "test-key")
        kwargs.setdefault("max_retries", 0)
        if async_:
            return openai.AsyncOpenAI(
                base_url=base_url,
                http_client=httpx.AsyncClient(transport=fake.transport()),
                **kwargs,
            )
        return openai.OpenAI(
            base_url=base_url, http_client=httpx.Client(transport=fake.transport()), **kwargs
        )

    return make


@pytest.fixture
def make_anthropic(fake: FakeProvider) -> Callable[..., Any]:
    """``make_anthropic(async_=False, base_url=ANTHROPIC_URL)`` on the fake provider (httpx2)."""

    def make(async_: bool = False, base_url: str = ANTHROPIC_URL, **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", "test-key")
        kwargs.setdefault("max_retries", 0)
        if async_:
            return anthropic.AsyncAnthropic(
                base_url=base_url,
                http_client=httpx2.AsyncClient(transport=fake.transport2()),
                **kwargs,
            )
        return anthropic.Anthropic(
            base_url=base_url, http_client=httpx2.Client(transport=fake.transport2()), **kwargs
        )

    return make


@pytest.fixture
def native(runtime: genops.GenOps) -> Iterator[genops.GenOps]:
    """genops on the in-memory pipeline with both SDKs instrumented (all clients)."""
    handles = [genops_native.instrument_openai(), genops_native.instrument_anthropic()]
    yield runtime
    for handle in handles:
        handle.uninstrument()
