"""anthropic 2.14 traces itself: one CLIENT span per API call (scope
``com.anthropic.sdk.python``) with ``gen_ai.usage.*``. Beside genops, exactly one span per
call may carry usage — genops' unit — and the SDK's span nests inside it.

The SDK records to the same tracer provider as genops (as with a global SDK provider);
the sums are taken over every exported span, as a backend would.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest
import vcr

import genops
import genops_native
from genops import attributes as A
from genops import coexist
from tests.apps import app_env
from tests.fakes.provider import DEFAULT_ANTHROPIC_USAGE, FakeProvider
from tests.native.test_cassettes import ANTHROPIC_CASES, CASSETTES, _bodies

SDK_SCOPE = "com.anthropic.sdk.python"
MODEL = "claude-sonnet-4-5"
USAGE = genops.Usage.from_provider(DEFAULT_ANTHROPIC_USAGE)
KWARGS: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi there"}],
}
REPLAY = vcr.VCR(record_mode="none", match_on=["method", "path"], decode_compressed_response=True)


def scope(span: Any) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


def token_sums(spans: list[Any]) -> tuple[int, int]:
    """Input and output tokens summed over every exported span (what a backend sums)."""
    inputs = sum(int(s.attributes.get(A.GEN_AI_USAGE_INPUT_TOKENS, 0)) for s in spans)
    outputs = sum(int(s.attributes.get(A.GEN_AI_USAGE_OUTPUT_TOKENS, 0)) for s in spans)
    return inputs, outputs


def check_pairs(telemetry: Any, calls: int, usage: genops.Usage) -> None:
    """Per call: a genops unit with the usage, the SDK's span its child without it."""
    spans = telemetry.spans()
    units = [s for s in spans if scope(s) == "genops"]
    sdk = [s for s in spans if scope(s) == SDK_SCOPE]
    assert len(units) == calls and len(sdk) == calls
    by_id = {u.context.span_id: u for u in units}
    for span in sdk:
        assert span.parent is not None and span.parent.span_id in by_id  # nested, not a root
        unit = by_id[span.parent.span_id]
        assert span.context.trace_id == unit.context.trace_id
        assert not [k for k in span.attributes if k.startswith("gen_ai.usage.")]
        assert span.attributes[A.USAGE_COUNTED_ON] == format(unit.context.span_id, "016x")
        assert span.attributes["gen_ai.response.model"]  # the SDK's other attributes stay
        assert span.attributes["http.response.status_code"] == 200
    for unit in units:
        assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == usage.input_tokens
    assert token_sums(spans) == (calls * usage.input_tokens, calls * usage.output_tokens)


@pytest.fixture
def traced(fake: FakeProvider, telemetry: Any) -> Any:
    """``traced(async_=False, base_url=...)``: an Anthropic client whose own tracing is on,
    on genops' tracer provider, talking to the fake provider."""

    def make(async_: bool = False, base_url: str = "https://api.anthropic.com") -> Any:
        options: Any = {"tracer_provider": telemetry.tracer_provider}
        if async_:
            return anthropic.AsyncAnthropic(
                api_key="k", base_url=base_url, max_retries=0, open_telemetry=options,
                http_client=httpx2.AsyncClient(transport=fake.transport2()),
            )  # fmt: skip
        return anthropic.Anthropic(
            api_key="k", base_url=base_url, max_retries=0, open_telemetry=options,
            http_client=httpx2.Client(transport=fake.transport2()),
        )  # fmt: skip

    return make


@pytest.fixture
def gateway() -> Iterator[str]:
    with FakeProvider().serve() as url:
        yield url


def test_the_sdk_span_carries_usage_without_genops(traced: Any, telemetry: Any) -> None:
    """The premise: anthropic 2.14 really emits usage on its own span."""
    traced().messages.create(**KWARGS)
    (span,) = telemetry.spans()
    assert scope(span) == SDK_SCOPE
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == USAGE.input_tokens
    assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == USAGE.output_tokens


def test_detected() -> None:
    assert any(name.startswith("anthropic 2.") for name in coexist.detect())


@pytest.mark.parametrize("mode", ["create", "create-stream", "stream-manager"])
@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
async def test_one_usage_span_per_call(
    native: genops.GenOps, traced: Any, telemetry: Any, mode: str, async_: bool
) -> None:
    assert native.self_tracing
    client = traced(async_=async_)
    for _ in range(2):
        if mode == "create":
            result = client.messages.create(**KWARGS)
            if async_:
                await result
        elif mode == "create-stream":
            if async_:
                async for _event in await client.messages.create(**KWARGS, stream=True):
                    pass
            else:
                for _event in client.messages.create(**KWARGS, stream=True):
                    pass
        elif async_:
            async with client.messages.stream(**KWARGS) as stream:
                await stream.get_final_message()
        else:
            with client.messages.stream(**KWARGS) as stream:
                stream.get_final_message()
    check_pairs(telemetry, 2, USAGE)


def test_gateway_base_url(native: genops.GenOps, telemetry: Any, gateway: str) -> None:
    client = anthropic.Anthropic(
        api_key="k", base_url=gateway, max_retries=0,
        open_telemetry={"tracer_provider": telemetry.tracer_provider},
    )  # fmt: skip
    client.messages.create(**KWARGS)
    check_pairs(telemetry, 1, USAGE)
    (unit,) = [s for s in telemetry.spans() if scope(s) == "genops"]
    assert unit.attributes[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert unit.attributes[A.SERVER_ADDRESS] == "127.0.0.1"


def test_early_close_keeps_one_usage_span(
    native: genops.GenOps, traced: Any, telemetry: Any
) -> None:
    stream = traced().messages.create(**KWARGS, stream=True)
    next(iter(stream))  # message_start only
    stream.close()
    spans = telemetry.spans()
    usage_spans = [s for s in spans if A.GEN_AI_USAGE_INPUT_TOKENS in s.attributes]
    assert [scope(s) for s in usage_spans] == ["genops"]
    assert usage_spans[0].attributes[A.USAGE_ESTIMATED] is True


def test_inside_a_users_governed_block(native: genops.GenOps, traced: Any, telemetry: Any) -> None:
    """The user's own cost-bearing unit owns the call: the SDK span nests in it."""
    with genops.governed("reply", provider="anthropic", model=MODEL):
        traced().messages.create(**KWARGS)
    check_pairs(telemetry, 1, USAGE)


@pytest.mark.parametrize(
    ("cassette", "method", "usage"),
    ANTHROPIC_CASES,
    ids=[c[0].split("/")[1].removesuffix(".yaml") for c in ANTHROPIC_CASES],
)
def test_cassettes(
    native: genops.GenOps, telemetry: Any, cassette: str, method: str, usage: genops.Usage
) -> None:
    """Recorded real responses through the real SDK with its tracing on."""
    client = anthropic.Anthropic(
        api_key="test_anthropic_api_key", max_retries=0,
        open_telemetry={"tracer_provider": telemetry.tracer_provider},
    )  # fmt: skip
    (body,) = _bodies(cassette)
    with REPLAY.use_cassette(str(CASSETTES / cassette)):
        if method == "stream":
            body.pop("stream")
            with client.messages.stream(**body) as stream:
                stream.get_final_text()
        else:
            result = client.messages.create(**body)
            if body.get("stream"):
                _ = list(result)
    check_pairs(telemetry, 1, usage)


APP = """
import anthropic, genops, genops_native
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

rt = genops.init(service_name="app", team="t", project="p", exporter="none", local_store=False)
exporter = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
client = anthropic.Anthropic(api_key="k", base_url=URL, max_retries=0)  # tracing: defaults
for _ in range(3):
    client.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                           messages=[{"role": "user", "content": "hi"}])
spans = exporter.get_finished_spans()
scopes = sorted(s.instrumentation_scope.name for s in spans)
usage = sum(s.attributes.get("gen_ai.usage.input_tokens", 0) for s in spans)
roots = sum(1 for s in spans if s.parent is None)
print(scopes.count("genops"), scopes.count("com.anthropic.sdk.python"), usage, roots)
"""


def test_zero_config_app_global_provider(gateway: str) -> None:
    """As an app runs it: genops.init() installs the global provider, the anthropic client
    uses its defaults (tracing on, global provider), genops-native instruments it."""
    out = subprocess.run(
        [sys.executable, "-c", f"URL = {gateway!r}\n" + APP],
        env=app_env(), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    units, sdk, usage, roots = (int(x) for x in out.stdout.split())
    assert (units, sdk, roots) == (3, 3, 3)
    assert usage == 3 * USAGE.input_tokens


def test_without_instrumentation_genops_leaves_the_sdk_span_alone(
    runtime: genops.GenOps, traced: Any, telemetry: Any
) -> None:
    """No genops unit owns the call: the SDK's span is the only record and keeps usage."""
    genops_native.instrument_anthropic().uninstrument()
    traced().messages.create(**KWARGS)
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == USAGE.input_tokens
    assert A.USAGE_COUNTED_ON not in span.attributes
