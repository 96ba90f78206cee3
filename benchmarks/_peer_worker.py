"""One fresh process of ``bench_peers.py``: set up ONE variant, time calls, print JSON.

    python benchmarks/_peer_worker.py SCENARIO VARIANT CALLS

Scenarios: ``langchain`` (``prompt | chat model | parser`` invoke) and ``openai``
(``chat.completions.create`` and the same call streamed, 5 chunks consumed, timed
alternately in this process). Every variant gets the same OpenTelemetry SDK setup:
a ``BatchSpanProcessor`` whose exporter drops the spans, and a ``MeterProvider`` with
an in-memory reader (metrics on for whoever records them), both also set globally.
Output: one JSON line ``{"wall": {"<call>": [µs, ...]}, "cpu": {...}, "proc": {...}}``,
one sample per call: wall time; this thread's CPU time (``time.thread_time_ns``: not
counting the time the process waits for a core, so it stays meaningful on a loaded
machine); and the whole process's CPU time (``time.process_time_ns``: every thread, so
work a variant moves off the calling thread — batched metric records, span export —
is counted too, plus the final metric collection spread over the calls).

Peers: OpenInference, OpenLLMetry and the official OTel GenAI instrumentations
(``otel-genai``: ``opentelemetry-instrumentation-openai-v2`` for openai,
``opentelemetry-instrumentation-genai-langchain`` for LangChain — the latter runs in the
bench session's side environment, see ``bench_peers.py``). ``genops essential`` is
genops' LangChain handler with ``spans="essential"`` (workflow and model spans only, as
the official instrumentation records), passed in ``config["callbacks"]``.
"""

from __future__ import annotations

import gc
import itertools
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

WARMUP = 100

#: the 3-rule policy of the issue: allowed models, monthly team budget, per-call cap
POLICY = {
    "version": 1,
    "policies": [
        {"name": "models", "type": "allowed_models", "models": ["gpt-4o-mini*"]},
        {
            "name": "team-monthly",
            "type": "budget",
            "limit": 1e6,
            "window": "monthly",
            "per": "team",
        },
        {"name": "cap", "type": "max_cost_per_call", "limit": 5.0},
    ],
}


class DropExporter(SpanExporter):
    """Receives batches and drops them (exporter I/O excluded for every variant)."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


#: the metric reader of this process (collected once at the end, timed)
READERS: list[InMemoryMetricReader] = []


def providers() -> tuple[TracerProvider, MeterProvider]:
    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(DropExporter()))
    READERS.append(InMemoryMetricReader())
    mp = MeterProvider(metric_readers=READERS[-1:])
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(mp)
    return tp, mp


def init_genops(tp: TracerProvider, mp: MeterProvider, instrument: list[str]) -> None:
    import genops

    genops.init(
        service_name="bench",
        team="t",
        project="p",
        policy=POLICY,
        ledger="memory",
        tracer_provider=tp,
        meter_provider=mp,
        local_store=False,
        instrument=instrument,
    )


# --- peers ----------------------------------------------------------------------------


def instrument_peer(variant: str, tp: TracerProvider, mp: MeterProvider, scenario: str) -> None:
    """Turn on one peer instrumentation the way its docs say, on our providers."""
    if variant == "openinference":
        if scenario == "langchain":
            from openinference.instrumentation.langchain import LangChainInstrumentor
        else:
            from openinference.instrumentation.openai import (
                OpenAIInstrumentor as LangChainInstrumentor,
            )
        LangChainInstrumentor().instrument(tracer_provider=tp)
    elif variant == "openllmetry":
        if scenario == "langchain":
            from opentelemetry.instrumentation.langchain import LangchainInstrumentor as Inst
        else:
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Inst
        Inst().instrument(tracer_provider=tp, meter_provider=mp)
    elif variant == "otel-genai" and scenario == "langchain":
        from opentelemetry.instrumentation.genai.langchain import LangChainInstrumentor as LCI

        # its dependency check asks for the `langchain` package; it hooks langchain_core only
        LCI().instrument(tracer_provider=tp, meter_provider=mp, skip_dep_check=True)
    elif variant == "otel-genai":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    else:
        raise SystemExit(f"unknown variant {variant}")


# --- LangChain ------------------------------------------------------------------------


def langchain_calls(variant: str) -> dict[str, Callable[[], None]]:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.language_models.base import LangSmithParams
    from langchain_core.messages import AIMessage
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    class PricedFake(GenericFakeChatModel):
        def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
            return LangSmithParams(ls_provider="openai", ls_model_name="gpt-4o-mini")

    tp, mp = providers()
    callbacks: list[Any] | None = None
    raw_spans = False
    if variant == "no-op handler":
        callbacks = [BaseCallbackHandler()]
    elif variant == "raw 4 OTel spans":
        raw_spans = True
    elif variant == "genops":
        init_genops(tp, mp, ["langchain"])
    elif variant == "genops essential":
        from genops_langchain import GenOpsCallbackHandler

        init_genops(tp, mp, [])
        callbacks = [GenOpsCallbackHandler(spans="essential")]
    elif variant != "uninstrumented":
        instrument_peer(variant, tp, mp, "langchain")
    reply = AIMessage(
        content="Refunds take 5 business days.",
        usage_metadata={"input_tokens": 480, "output_tokens": 120, "total_tokens": 600},
        response_metadata={"model_name": "gpt-4o-mini-2024-07-18", "finish_reason": "stop"},
    )
    model = PricedFake(messages=itertools.repeat(reply))
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    chain = prompt | model | StrOutputParser()
    question = {"q": "how long do refunds take?"}
    config: Any = {"callbacks": callbacks} if callbacks is not None else {}
    tracer = tp.get_tracer("bench")

    if raw_spans:  # what 4 nested spans with a few attributes cost, around the plain invoke

        def invoke() -> None:
            with (
                tracer.start_as_current_span("chain", attributes={"a": "x", "b": 1}),
                tracer.start_as_current_span("prompt", attributes={"a": "x", "b": 1}),
                tracer.start_as_current_span("chat", attributes={"a": "x", "b": 1}),
                tracer.start_as_current_span("parser", attributes={"a": "x", "b": 1}),
            ):
                chain.invoke(question, config=config)

        return {"langchain invoke": invoke}
    return {"langchain invoke": lambda: chain.invoke(question, config=config) and None}


# --- OpenAI SDK -----------------------------------------------------------------------


def openai_calls(variant: str) -> dict[str, Callable[[], None]]:
    import httpx
    import openai
    from bench_native import CHAT, CHAT_STREAM, MESSAGES

    tp, mp = providers()
    if variant == "genops":
        init_genops(tp, mp, ["openai"])
    elif variant != "uninstrumented":
        instrument_peer(variant, tp, mp, "openai")

    def handle(request: httpx.Request) -> httpx.Response:
        stream = b'"stream":true' in request.content
        body, kind = (CHAT_STREAM, "text/event-stream") if stream else (CHAT, "application/json")
        return httpx.Response(200, content=body, headers={"content-type": kind})

    client = openai.OpenAI(
        api_key="k", max_retries=0, http_client=httpx.Client(transport=httpx.MockTransport(handle))
    )

    def create() -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=200)

    def stream() -> None:
        for _ in client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            max_tokens=200,
            stream=True,
            stream_options={"include_usage": True},
        ):
            pass

    return {"openai create": create, "openai stream": stream}


def main() -> None:
    scenario, variant, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fns = langchain_calls(variant) if scenario == "langchain" else openai_calls(variant)
    for fn in fns.values():
        for _ in range(WARMUP):
            fn()
    gc.collect()
    for reader in READERS:  # the warm-up's metrics: collected before the timed loop
        reader.get_metrics_data()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    proc: dict[str, list[float]] = {name: [] for name in fns}
    clock, thread_clock = time.perf_counter_ns, time.thread_time_ns
    proc_clock = time.process_time_ns
    for _ in range(calls):
        for name, fn in fns.items():
            p0 = proc_clock()
            c0 = thread_clock()
            t0 = clock()
            fn()
            samples[name].append((clock() - t0) / 1000)
            cpu[name].append((thread_clock() - c0) / 1000)
            proc[name].append((proc_clock() - p0) / 1000)
    # Work a variant defers (metric records recorded at collection, by a background
    # thread) is paid here or on other threads: the process CPU clock counts both, and
    # the final collection — timed — is spread over the calls.
    p0 = proc_clock()
    for reader in READERS:
        reader.get_metrics_data()
    share = (proc_clock() - p0) / 1000 / (calls * len(fns))
    proc = {name: [v + share for v in values] for name, values in proc.items()}
    print(json.dumps({"wall": samples, "cpu": cpu, "proc": proc}))


if __name__ == "__main__":
    main()
