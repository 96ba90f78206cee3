"""A small LangChain invoke (prompt | chat model | parser), governed vs not, same run.

Variants, interleaved round by round so machine noise hits all of them alike:

- uninstrumented: no callbacks at all;
- no-op ``BaseCallbackHandler``: LangChain's own callback dispatch floor;
- no-op ``BaseTracer``: the floor of tracer-based integrations (it builds Run trees);
- genops: ``GenOpsCallbackHandler`` → 3 spans (workflow, prompt, parser) + 1 governed
  chat unit (policy engine, reservation, pricing, metrics, roll-up).

All use one SDK TracerProvider whose processor drops finished spans (exporter cost
excluded) and one MeterProvider. The chat model is langchain-core's
``GenericFakeChatModel`` declaring ``gpt-4o-mini`` with usage, so the unit is priced.

    uv run python benchmarks/bench_langchain.py
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

from _common import init_genops
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

import genops
from genops_langchain import GenOpsCallbackHandler

ROUNDS = 9
N = 300


class PricedFake(GenericFakeChatModel):
    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(ls_provider="openai", ls_model_name="gpt-4o-mini")


class NoopTracer(BaseTracer):
    def _persist_run(self, run: Run) -> None:
        pass


def main() -> None:
    init_genops()
    reply = AIMessage(
        content="Refunds take 5 business days.",
        usage_metadata={"input_tokens": 480, "output_tokens": 120, "total_tokens": 600},
        response_metadata={"model_name": "gpt-4o-mini-2024-07-18", "finish_reason": "stop"},
    )
    model = PricedFake(messages=itertools.repeat(reply))
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    chain = prompt | model | StrOutputParser()
    question = {"q": "how long do refunds take?"}

    def run_with(callbacks: list[Any] | None) -> Callable[[], None]:
        config: Any = {"callbacks": callbacks} if callbacks is not None else {}
        return lambda: chain.invoke(question, config=config) and None

    variants = {
        "uninstrumented": run_with(None),
        "no-op BaseCallbackHandler": run_with([BaseCallbackHandler()]),
        "no-op BaseTracer": run_with([NoopTracer()]),
        "genops GenOpsCallbackHandler": run_with([GenOpsCallbackHandler()]),
    }
    for fn in variants.values():  # warm up (imports, price lookup cache)
        for _ in range(50):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            for _ in range(N):
                fn()
            samples[name].append((time.perf_counter() - t0) / N * 1e6)
    genops.shutdown()
    med = {name: statistics.median(s) for name, s in samples.items()}
    base = med["uninstrumented"]
    noop = med["no-op BaseCallbackHandler"]
    for name, value in med.items():
        print(f"{name:30s}: {value:8.1f} µs/invoke  (+{value - base:7.1f} µs vs uninstrumented)")
    gov = med["genops GenOpsCallbackHandler"]
    print(f"genops over the no-op handler floor: +{gov - noop:.1f} µs/invoke")


if __name__ == "__main__":
    main()
