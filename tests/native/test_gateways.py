"""Gateways and proxies: provider resolution (genops.providers) through the real SDKs.

Loopback base URLs (a real socket to the fake provider: what a company gateway or a
LiteLLM proxy looks like to the SDK) and known hosts redirected to the fake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

import genops
import genops_native
from genops import attributes as A
from genops.providers import ProviderMap, resolve_provider
from tests.fakes.provider import DEFAULT_ANTHROPIC_USAGE, DEFAULT_CHAT_USAGE, FakeProvider
from tests.native.prices import reference_cost

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
CLAUDE = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}
CHAT_COST = float(reference_cost("openai", "gpt-4o-mini", genops.Usage.from_provider(DEFAULT_CHAT_USAGE)))  # type: ignore[arg-type]  # fmt: skip
CLAUDE_COST = float(reference_cost("anthropic", "claude-sonnet-4-5", genops.Usage.from_provider(DEFAULT_ANTHROPIC_USAGE)))  # type: ignore[arg-type]  # fmt: skip
DAILY_CENT = {
    "version": 1,
    "policies": [{"name": "daily", "type": "budget", "limit": 0.01, "window": "daily"}],
}


# --- the order, on one resolver -------------------------------------------------------------


def test_resolution_order(runtime: genops.GenOps) -> None:
    gateway = "https://llm-gateway.internal.example/v1"
    # unknown host, family prices the model → the family, inferred
    r = resolve_provider(base_url=gateway, wire_family="openai", model="gpt-4o-mini")
    assert (r.name, r.source, r.host, r.port) == ("openai", "wire_family", "llm-gateway.internal.example", 443)  # fmt: skip
    assert r.inferred
    assert r.attributes() == {
        A.PROVIDER_SOURCE: "wire_family",
        A.SERVER_ADDRESS: "llm-gateway.internal.example",
        A.SERVER_PORT: 443,
    }
    # the framework's hint beats the family
    r = resolve_provider(base_url=gateway, hint="azure", wire_family="openai", model="gpt-4o-mini")
    assert (r.name, r.source) == ("azure.ai.openai", "framework")
    # a known host beats the framework's hint (ChatOpenAI pointed at Groq is Groq)
    r = resolve_provider(base_url="https://api.groq.com/openai/v1", hint="openai", model="x")
    assert (r.name, r.source) == ("groq", "known_host")
    assert A.PROVIDER_SOURCE not in r.attributes()
    # explicit beats everything
    r = resolve_provider(base_url="https://api.groq.com/openai/v1", explicit="openai", hint="x")
    assert (r.name, r.source, r.host) == ("openai", "explicit", "api.groq.com")
    # the family does not price a self-hosted model: unknown, named by the host
    r = resolve_provider(base_url=gateway, wire_family="openai", model="my-llama-70b")
    assert (r.name, r.source, r.known) == ("llm-gateway.internal.example", "unknown", False)
    # no base URL: the SDK's own default endpoint
    assert resolve_provider(wire_family="anthropic", model="whatever").name == "anthropic"
    assert resolve_provider().name is None
    # cached: the same object for the same question
    assert resolve_provider(base_url=gateway, wire_family="openai", model="gpt-4o-mini") is (
        resolve_provider(base_url=gateway, wire_family="openai", model="gpt-4o-mini")
    )


def test_user_map_beats_the_known_host_table(make_genops: Any) -> None:
    make_genops(
        providers={
            "llm.internal.example": "openai",
            "*.azure-api.net": "azure",
            "10.0.0.7:8000": "groq",
        }
    )
    r = resolve_provider(base_url="https://llm.internal.example/v1", model="my-llama")
    assert (r.name, r.source) == ("openai", "user_map")
    r = resolve_provider(base_url="https://apim-prod.azure-api.net/openai", hint="openai")
    assert (r.name, r.source) == ("azure.ai.openai", "user_map")
    # a loopback vLLM port would be "vllm" from the table; the map pins host:port
    assert resolve_provider(base_url="http://10.0.0.7:8000/v1").name == "groq"
    assert resolve_provider(base_url="http://10.0.0.7:9000/v1").source == "unknown"


def test_user_map_from_the_environment(make_genops: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(A.ENV_PROVIDERS, "llm.internal.example=openai, *.corp.example=anthropic")
    make_genops()
    assert resolve_provider(base_url="https://llm.internal.example").source == "user_map"
    assert resolve_provider(base_url="http://claude.corp.example:8080").name == "anthropic"


@pytest.mark.parametrize("text", ["llm.internal.example", "=openai", "host="])
def test_user_map_errors_are_precise(text: str) -> None:
    with pytest.raises(ValueError, match=r"GENOPS_PROVIDERS: .* is not host=provider"):
        ProviderMap.parse(text)


# --- real SDKs at a loopback base URL (a real socket) --------------------------------------


def test_openai_sdk_at_a_loopback_gateway_is_priced_as_openai(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider
) -> None:
    with fake.serve() as url:
        client = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0)
        client.chat.completions.create(**CHAT)
        client.close()
    (span,) = telemetry.spans()
    attrs = span.attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[A.PROVIDER_SOURCE] == "wire_family"
    assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[A.COST_TOTAL] == CHAT_COST
    assert A.COST_UNKNOWN not in attrs


def test_anthropic_sdk_at_a_loopback_gateway_is_priced_as_anthropic(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider
) -> None:
    with fake.serve() as url:
        client = anthropic.Anthropic(api_key="k", base_url=url, max_retries=0)
        client.messages.create(**CLAUDE)
        client.close()
    unit = [s for s in telemetry.spans() if s.attributes.get(A.SPEC_VERSION)]
    (span,) = unit
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert span.attributes[A.PROVIDER_SOURCE] == "wire_family"
    assert span.attributes[A.COST_TOTAL] == CLAUDE_COST


def test_a_user_map_names_a_gateway_for_zero_code_calls(
    make_genops: Any, telemetry: Any, fake: FakeProvider
) -> None:
    make_genops(providers={"127.0.0.1": "azure.ai.openai"})
    handle = genops_native.instrument_openai()
    try:
        with fake.serve() as url:
            client = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0)
            client.chat.completions.create(**CHAT)
            client.close()
    finally:
        handle.uninstrument()
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert A.PROVIDER_SOURCE not in span.attributes  # the user said so: not an inference
    assert span.attributes[A.COST_TOTAL] == float(
        reference_cost("azure", "gpt-4o-mini", genops.Usage.from_provider(DEFAULT_CHAT_USAGE))  # type: ignore[arg-type]
    )


def test_zero_code_calls_at_a_gateway_are_budget_limited(
    make_genops: Any, telemetry: Any, fake: FakeProvider
) -> None:
    rt = make_genops(policy=DAILY_CENT)
    handle = genops_native.instrument_openai()
    try:
        with fake.serve() as url:
            client = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0)
            for _ in range(20):
                client.chat.completions.create(**CHAT, max_tokens=50)
            client.close()
    finally:
        handle.uninstrument()
    status = rt.engine.budget_status("daily")
    assert status.consumed == pytest.approx(20 * CHAT_COST)
    assert all(s.attributes[A.POLICY_RESULT] == "ALLOWED" for s in telemetry.spans())


def test_known_host_redirected_to_the_fake_keeps_its_name(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider
) -> None:
    client = openai.OpenAI(
        api_key="k",
        base_url="https://api.openai.com/v1",
        http_client=httpx.Client(transport=fake.transport()),
        max_retries=0,
    )
    client.chat.completions.create(**CHAT)
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert A.PROVIDER_SOURCE not in span.attributes
    assert span.attributes[A.COST_TOTAL] == CHAT_COST


def test_the_readme_price_override_prices_a_self_hosted_model(
    make_genops: Any, telemetry: Any, make_openai: Any, tmp_path: Any
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("# prices.yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "prices.yaml").write_text(block, encoding="utf-8")
    make_genops(prices=str(tmp_path / "prices.yaml"))
    handle = genops_native.instrument_openai()
    try:
        make_openai(base_url="http://localhost:8000/v1").chat.completions.create(
            model="meta-llama/Llama-3.1-8B-Instruct", messages=[{"role": "user", "content": "Hi"}]
        )
    finally:
        handle.uninstrument()
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "vllm"
    assert span.attributes[A.COST_PRICE_SOURCE] == "override"
    usage = genops.Usage.from_provider(DEFAULT_CHAT_USAGE)
    assert usage is not None
    expected = (usage.input_tokens * 0.05 + usage.output_tokens * 0.10) / 1_000_000
    assert span.attributes[A.COST_TOTAL] == pytest.approx(expected)
