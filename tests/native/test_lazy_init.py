"""genops.init(instrument=True) imports no SDK: each is instrumented when the app imports it.

Runs in a fresh interpreter (this test process has imported the SDKs already).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WATCHED = (
    "openai", "anthropic", "botocore", "google.genai", "litellm", "crewai",
    "langchain_core", "llama_index.core", "haystack",
)  # fmt: skip

APP = """
    import json, sys
    import genops
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    WATCHED = %r
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    rt = genops.init(service_name="lazy", team="t", project="p", tracer_provider=tp,
                     meter_provider=MeterProvider(), instrument=True)
    out = {
        "imported_at_init": [m for m in WATCHED if m in sys.modules],
        "waiting": sorted(w.name for w in rt.waiting_integrations),
        "enabled_at_init": sorted(i.name for i in rt.integrations),
    }
    import httpx
    from tests.fakes.provider import FakeProvider

    fake = FakeProvider()
    import openai  # the app's import instruments the SDK

    out["enabled_after_import"] = sorted(i.name for i in rt.integrations)
    out["still_waiting"] = sorted(w.name for w in rt.waiting_integrations)
    client = openai.OpenAI(api_key="k", base_url=%r, max_retries=0,
                           http_client=httpx.Client(transport=fake.transport()))
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    out["spans"] = [
        {"name": s.name, "kind": s.kind.name, "attributes": dict(s.attributes or {})}
        for s in exporter.get_finished_spans()
    ]
    out["imported_at_end"] = [m for m in WATCHED if m in sys.modules]
    genops.shutdown()
    import anthropic  # after shutdown: the pending hook was cancelled
    out["anthropic_patched_after_shutdown"] = hasattr(
        anthropic.resources.messages.Messages.create, "__genops_original__")
    print(json.dumps(out))
"""


def _run(base_url: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "GENOPS_"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    env["GENOPS_RAISE_INTERNAL_ERRORS"] = "1"
    env["GENOPS_LOCAL_STORE"] = "0"
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(APP % (WATCHED, base_url))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _check(out: dict[str, Any], provider: str) -> None:
    assert out["imported_at_init"] == []
    every = {"openai", "anthropic", "bedrock", "gemini", "litellm", "crewai", "langchain",
             "llamaindex", "haystack"}  # fmt: skip
    assert set(out["waiting"]) == every  # every installed integration waits for its module
    assert "openai" not in out["enabled_at_init"]
    assert "openai" in out["enabled_after_import"]
    assert "openai" not in out["still_waiting"] and "anthropic" in out["still_waiting"]
    [span] = out["spans"]
    assert span["name"] == "chat gpt-4o-mini" and span["kind"] == "CLIENT"
    attrs = span["attributes"]
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.usage.input_tokens"] == 21
    assert attrs["genops.team"] == "t"
    assert attrs["genops.policy.result"] == "ALLOWED"
    # nothing the app did not import was imported for it
    assert out["imported_at_end"] == ["openai"]
    assert out["anthropic_patched_after_shutdown"] is False


def test_openai_is_instrumented_when_the_app_imports_it() -> None:
    out = _run("https://api.openai.com/v1")
    _check(out, "openai")
    assert out["spans"][0]["attributes"]["genops.cost.total"] > 0


def test_gateway_base_url_after_lazy_instrumentation() -> None:
    out = _run("https://llm-gateway.internal.example/v1")
    _check(out, "openai")
