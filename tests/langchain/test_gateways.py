"""ChatOpenAI and ChatAnthropic at a gateway URL, with the SDK layer (genops-native) on.

The gateway is the loopback fake provider (a real socket): its host is in no table,
so LangChain's own ``ls_provider`` must name the provider — not the host the SDK
sees — and the call is priced at genai-prices' figure, once, on the LangChain unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import genops
from genops import attributes as A
from genops_langchain import GenOpsCallbackHandler
from tests.fakes.provider import DEFAULT_ANTHROPIC_USAGE, DEFAULT_CHAT_USAGE, FakeProvider
from tests.native.prices import reference_cost

genops_native = pytest.importorskip("genops_native")
langchain_openai = pytest.importorskip("langchain_openai")
langchain_anthropic = pytest.importorskip("langchain_anthropic")

CHAT_COST = float(reference_cost("openai", "gpt-4o-mini", genops.Usage.from_provider(DEFAULT_CHAT_USAGE)))  # type: ignore[arg-type]  # fmt: skip
CLAUDE_COST = float(reference_cost("anthropic", "claude-sonnet-4-5", genops.Usage.from_provider(DEFAULT_ANTHROPIC_USAGE)))  # type: ignore[arg-type]  # fmt: skip
DAILY_CENT = {
    "version": 1,
    "policies": [{"name": "daily", "type": "budget", "limit": 0.01, "window": "daily"}],
}


@pytest.fixture
def gateway() -> Iterator[str]:
    with FakeProvider().serve() as url:
        yield url


@pytest.fixture
def governed(make_genops: Any) -> Iterator[genops.GenOps]:
    rt = make_genops(policy=DAILY_CENT)
    handles = [genops_native.instrument_openai(), genops_native.instrument_anthropic()]
    yield rt
    for handle in handles:
        handle.uninstrument()


def _units(telemetry: Any) -> list[Any]:
    return [s for s in telemetry.spans() if s.attributes.get(A.SPEC_VERSION)]


def _check(rt: genops.GenOps, telemetry: Any, calls: int, provider: str, cost: float) -> None:
    units = _units(telemetry)
    assert len(units) == calls  # one cost-bearing unit per call: the LangChain run's
    for span in units:
        assert span.attributes[A.GEN_AI_PROVIDER_NAME] == provider
        assert span.attributes[A.PROVIDER_SOURCE] == "framework"
        assert span.attributes[A.COST_TOTAL] == pytest.approx(cost)
        assert span.attributes[A.ACCOUNTING_ACTUAL] == pytest.approx(cost)
        assert A.ACCOUNTING_INCOMPLETE not in span.attributes
        assert span.attributes[A.POLICY_RESULT] == "ALLOWED"
    # the budget counted what was spent, not the reservations (78-350x the real cost)
    assert rt.engine.budget_status("daily").consumed == pytest.approx(calls * cost)
    usage_spans = [s for s in telemetry.spans() if A.GEN_AI_USAGE_INPUT_TOKENS in s.attributes]
    assert len(usage_spans) == calls  # no token counted twice


def test_chat_openai_at_a_gateway_url(
    governed: genops.GenOps, telemetry: Any, gateway: str
) -> None:
    model = langchain_openai.ChatOpenAI(
        model="gpt-4o-mini", api_key="k", base_url=f"{gateway}/v1", max_retries=0
    )
    handler = GenOpsCallbackHandler()
    for _ in range(8):  # a $0.01 budget blocked after 4 calls when reservations were charged
        model.invoke("hi", config={"callbacks": [handler]})
    _check(governed, telemetry, 8, "openai", CHAT_COST)


def test_chat_anthropic_at_a_gateway_url(
    governed: genops.GenOps, telemetry: Any, gateway: str
) -> None:
    model = langchain_anthropic.ChatAnthropic(
        model="claude-sonnet-4-5",
        api_key="k",
        base_url=gateway,
        max_tokens=64,
        max_retries=0,
    )
    handler = GenOpsCallbackHandler()
    for _ in range(3):
        model.invoke("hi", config={"callbacks": [handler]})
    _check(governed, telemetry, 3, "anthropic", CLAUDE_COST)
