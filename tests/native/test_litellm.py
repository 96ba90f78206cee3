"""LiteLLM against the loopback fake: ``openai/…`` goes through the OpenAI SDK (genops'
OpenAI wrapper underneath must not open a second cost-bearing span), ``anthropic/…``
through LiteLLM's own HTTP client; sync, async, streamed, embeddings; policy first."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

import genops
import genops_native
from genops import attributes as A
from tests.fakes.provider import (
    DEFAULT_ANTHROPIC_USAGE,
    DEFAULT_CHAT_USAGE,
    FakeProvider,
)
from tests.native.prices import reference_cost
from tests.native.spans import check_unit_span

litellm = pytest.importorskip("litellm")

HI = [{"role": "user", "content": "hi"}]
CLAUDE = "claude-3-5-haiku-20241022"
CHAT_USAGE = genops.Usage.from_provider(DEFAULT_CHAT_USAGE)
CLAUDE_USAGE = genops.Usage.from_provider(DEFAULT_ANTHROPIC_USAGE)


@pytest.fixture
def governed(native: genops.GenOps) -> Iterator[genops.GenOps]:
    """genops with OpenAI, Anthropic *and* LiteLLM instrumented, as genops.init() does."""
    handle = genops_native.instrument_litellm()
    assert sorted(handle.patched) == [
        "litellm.acompletion", "litellm.aembedding", "litellm.completion", "litellm.embedding",
    ]  # fmt: skip
    yield native
    handle.uninstrument()
    assert not hasattr(litellm.completion, "__genops_original__")


@pytest.fixture
def url(fake: FakeProvider) -> Iterator[str]:
    with fake.serve() as base:
        yield base


def _check(span: Any, *, provider: str, model: str, host: str, port: int, **kw: Any) -> None:
    attrs = dict(span.attributes or {})
    source = attrs.pop(A.PROVIDER_SOURCE, None)
    # LiteLLM's own provider resolution named it (genops.provider.source=framework),
    # unless the api_base is a known host.
    assert source == (None if host.endswith(("openai.com", "anthropic.com")) else "framework")
    check_unit_span(
        span.__class__(name=span.name, context=span.context, kind=span.kind,
                       events=span.events, attributes=attrs),
        provider=provider, model=model, host=host, port=port, **kw,
    )  # fmt: skip


async def test_openai_route_one_cost_span_sync_async_stream(
    governed: genops.GenOps, telemetry: Any, fake: FakeProvider, url: str
) -> None:
    """LiteLLM calls the OpenAI SDK: its genops wrapper accounts to the LiteLLM unit."""
    common = {"model": "openai/gpt-4o-mini", "api_base": f"{url}/v1", "api_key": "k"}
    assert litellm.completion(messages=HI, max_tokens=20, **common).choices[0].message.content
    chunks = list(litellm.completion(messages=HI, stream=True, **common))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello!"
    assert (await litellm.acompletion(messages=HI, **common)).usage.prompt_tokens == 21
    stream = await litellm.acompletion(messages=HI, stream=True, **common)
    assert [c async for c in stream]
    assert fake.request_count == 4
    assert fake.requests[1].body["stream_options"] == {"include_usage": True}
    spans = telemetry.spans()
    assert len(spans) == 4  # no span of the OpenAI SDK beneath
    cost = reference_cost("openai", "gpt-4o-mini", CHAT_USAGE)
    for i, span in enumerate(spans):
        streamed = i % 2 == 1
        _check(
            span, provider="openai", model="gpt-4o-mini", host="127.0.0.1",
            port=int(url.rsplit(":", 1)[1]), op_name="litellm.completion", stream=streamed,
            max_tokens=20 if i == 0 else None, response_model="gpt-4o-mini", usage=CHAT_USAGE,
            cost=cost, first_chunk=streamed, response_id="chatcmpl-fake1",
            finish_reasons=["stop"],
        )  # fmt: skip


async def test_anthropic_route_priced_from_litellm_usage(
    governed: genops.GenOps, telemetry: Any, fake: FakeProvider, url: str
) -> None:
    """No SDK beneath: the usage LiteLLM reports (cache read/write included) is priced."""
    common = {"model": f"anthropic/{CLAUDE}", "api_base": url, "api_key": "k", "max_tokens": 16}
    litellm.completion(messages=HI, **common)
    assert [c for c in litellm.completion(messages=HI, stream=True, **common)]
    stream = await litellm.acompletion(messages=HI, stream=True, **common)
    assert [c async for c in stream]
    assert [r.path for r in fake.requests] == ["/v1/messages"] * 3
    assert CLAUDE_USAGE is not None and CLAUDE_USAGE.cache_write_tokens == 40
    cost = reference_cost("anthropic", CLAUDE, CLAUDE_USAGE)
    spans = telemetry.spans()
    assert len(spans) == 3
    for span, streamed in zip(spans, (False, True, True), strict=True):
        _check(
            span, provider="anthropic", model=CLAUDE, host="127.0.0.1",
            port=int(url.rsplit(":", 1)[1]), op_name="litellm.completion", stream=streamed,
            max_tokens=16, response_model=CLAUDE, usage=CLAUDE_USAGE, cost=cost,
            first_chunk=streamed, finish_reasons=["stop"],
            response_id=span.attributes[A.GEN_AI_RESPONSE_ID],  # LiteLLM's own chatcmpl-… id
        )  # fmt: skip


async def test_known_host_and_embeddings(
    governed: genops.GenOps, telemetry: Any, fake: FakeProvider
) -> None:
    client = openai.OpenAI(api_key="k", http_client=httpx.Client(transport=fake.transport()))
    litellm.completion(
        model="gpt-4o-mini", messages=HI, api_base="https://api.openai.com/v1", client=client
    )
    await litellm.aembedding(
        model="openai/text-embedding-3-small",
        input=["a", "b"],
        api_base="https://api.openai.com/v1",
        client=openai.AsyncOpenAI(
            api_key="k", http_client=httpx.AsyncClient(transport=fake.transport())
        ),
    )
    chat, embed = telemetry.spans()
    _check(
        chat, provider="openai", model="gpt-4o-mini", host="api.openai.com", port=443,
        op_name="litellm.completion", response_model="gpt-4o-mini", usage=CHAT_USAGE,
        cost=reference_cost("openai", "gpt-4o-mini", CHAT_USAGE), stream=False,
        response_id="chatcmpl-fake1", finish_reasons=["stop"],
    )  # fmt: skip
    usage = genops.Usage(16, 0)
    _check(
        embed, provider="openai", model="text-embedding-3-small", host="api.openai.com",
        port=443, operation=A.OP_EMBEDDINGS, op_name="litellm.embedding", op_type="embedding",
        stream=None, response_model="text-embedding-3-small", usage=usage,
        cost=reference_cost("openai", "text-embedding-3-small", usage),
    )  # fmt: skip


async def test_blocked_call_sends_nothing(
    governed: genops.GenOps, telemetry: Any, fake: FakeProvider, url: str
) -> None:
    genops.register_policy(
        "haiku-only",
        lambda request: request.model == CLAUDE,
        reason_code="POLICY_DENY_MODEL",
        reason="model not approved",
    )
    common = {"api_base": f"{url}/v1", "api_key": "k", "messages": HI}
    with pytest.raises(genops.PolicyViolationError) as raised:
        litellm.completion("openai/gpt-4o", **common)
    with pytest.raises(genops.PolicyViolationError):
        litellm.completion(model="openai/gpt-4o", stream=True, **common)
    with pytest.raises(genops.PolicyViolationError):
        await litellm.acompletion(model="openai/gpt-4o", **common)
    with pytest.raises(genops.PolicyViolationError):  # every positional argument is named
        litellm.completion("openai/gpt-4o", HI, 30.0, api_base=f"{url}/v1", api_key="k")
    with pytest.raises(genops.PolicyViolationError):
        await litellm.aembedding("openai/text-embedding-3-large", ["x"], api_key="k")
    assert fake.request_count == 0
    assert raised.value.decision.reason_code == "POLICY_DENY_MODEL"
    spans = telemetry.spans()
    assert [s.attributes[A.POLICY_RESULT] for s in spans] == ["BLOCKED"] * 5
    assert {s.attributes[A.GEN_AI_REQUEST_MODEL] for s in spans} == {
        "gpt-4o", "text-embedding-3-large",
    }  # fmt: skip


@pytest.mark.parametrize("route", ["openai", "anthropic"])
def test_covering_unit_counts_the_call_once(
    governed: genops.GenOps, telemetry: Any, url: str, route: str
) -> None:
    if route == "openai":
        model, base, expected = "openai/gpt-4o-mini", f"{url}/v1", CHAT_USAGE
    else:
        model, base, expected = f"anthropic/{CLAUDE}", url, CLAUDE_USAGE
    with genops.governed("triage", provider=route, model=model.split("/")[1]) as unit:
        litellm.completion(model=model, messages=HI, api_base=base, api_key="k", max_tokens=8)
        assert unit.usage == expected
    (span,) = telemetry.spans()
    assert span.attributes[A.OPERATION_NAME] == "triage"
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == expected.input_tokens


def test_genops_init_governs_litellm_when_the_app_imports_it() -> None:
    """``genops.init()`` does not import LiteLLM (seconds, and a price-map download); it
    wraps it once the app imports it."""
    code = (
        "import sys, genops\n"
        "genops.init(service_name='t', exporter='none', instrument=['litellm'])\n"
        "assert 'litellm' not in sys.modules\n"
        "import litellm\n"
        "assert hasattr(litellm.completion, '__genops_original__')\n"
        "genops.shutdown()\n"
        "assert not hasattr(litellm.completion, '__genops_original__')\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OTEL_SDK_DISABLED": "true"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_litellm_cache_hit_costs_nothing() -> None:
    """A response LiteLLM served from ``litellm.cache`` made no provider call: $0. (LiteLLM's
    cache needs its proxy extra — fastapi — in SDK mode, so the response is built here.)"""
    from genops_native import _litellm

    response = litellm.ModelResponse(
        model="gpt-4o-mini", usage={"prompt_tokens": 9, "completion_tokens": 3}
    )
    assert _litellm.COMPLETION.read_response(response).usage == genops.Usage(9, 3)
    response._hidden_params["cache_hit"] = True
    assert _litellm.COMPLETION.read_response(response).usage == genops.Usage()


def test_router_calls_are_governed_once(
    governed: genops.GenOps, telemetry: Any, fake: FakeProvider, url: str
) -> None:
    router = litellm.Router(
        model_list=[
            {"model_name": "fast", "litellm_params": {
                "model": f"anthropic/{CLAUDE}", "api_base": url, "api_key": "k"}},
        ]
    )  # fmt: skip
    router.completion(model="fast", messages=HI, max_tokens=8)
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert span.attributes[A.GEN_AI_REQUEST_MODEL] == CLAUDE
    assert span.attributes[A.COST_TOTAL] == float(reference_cost("anthropic", CLAUDE, CLAUDE_USAGE))


def test_litellm_callbacks_cannot_stop_a_call_in_sdk_mode(fake: FakeProvider, url: str) -> None:
    """Why genops wraps the functions: an exception from LiteLLM's pre-call callback is
    logged and swallowed, and the request is sent anyway."""
    from litellm.integrations.custom_logger import CustomLogger

    called: list[str] = []

    class Deny(CustomLogger):  # type: ignore[misc]
        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            called.append(model)
            raise RuntimeError("denied by policy")

    deny = Deny()
    litellm.input_callback.append(deny)
    try:
        litellm.completion(
            model="openai/gpt-4o-mini", messages=HI, api_base=f"{url}/v1", api_key="k"
        )
    finally:
        litellm.input_callback.remove(deny)
    assert called == ["gpt-4o-mini"]
    assert fake.request_count == 1
