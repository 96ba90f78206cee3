"""OpenAI / Anthropic SDK calls through an instrumented client vs an uninstrumented one.

Both clients of a pair are real SDK clients on the same in-process mock transport
(``httpx.MockTransport`` / ``httpx2.MockTransport`` returning a fixed body, so socket
noise is excluded); only one of them is instrumented (``instrument_openai(client)``).
Variants are interleaved round by round so machine noise hits all of them alike:

- OpenAI ``chat.completions.create`` (non-streaming, usage with cached tokens);
- OpenAI ``chat.completions.create(stream=True)`` with ``include_usage``, consumed;
- Anthropic ``messages.create``.

The governed variant produces one CLIENT span per call (policy, reservation, pricing,
reconciliation, the three spec events, GenAI + cost metrics). Spans go to a processor
that drops them (exporter cost excluded).

    uv run python benchmarks/bench_native.py
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import httpx2
import openai
from _common import init_genops

import genops
import genops_native

ROUNDS = 9
N = 300
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
USAGE = {
    "prompt_tokens": 480,
    "completion_tokens": 120,
    "total_tokens": 600,
    "prompt_tokens_details": {"cached_tokens": 128},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
CHAT = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Refunds take 5 days."},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
).encode()


def _chunk(delta: dict[str, Any], finish: str | None, usage: Any = None) -> str:
    choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": choices,
        "usage": usage,
    }
    return f"data: {json.dumps(body)}\n\n"


CHAT_STREAM = (
    _chunk({"role": "assistant", "content": ""}, None)
    + _chunk({"content": "Refunds "}, None)
    + _chunk({"content": "take 5 days."}, None)
    + _chunk({}, "stop")
    + _chunk({}, None, USAGE)
    + "data: [DONE]\n\n"
).encode()
MESSAGE = json.dumps(
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": "Refunds take 5 days."}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 352,
            "cache_read_input_tokens": 128,
            "cache_creation_input_tokens": 0,
            "output_tokens": 120,
        },
    }
).encode()


def _openai_client() -> openai.OpenAI:
    def handle(request: httpx.Request) -> httpx.Response:
        stream = b'"stream":true' in request.content
        body, kind = (CHAT_STREAM, "text/event-stream") if stream else (CHAT, "application/json")
        return httpx.Response(200, content=body, headers={"content-type": kind})

    return openai.OpenAI(
        api_key="k", max_retries=0, http_client=httpx.Client(transport=httpx.MockTransport(handle))
    )


def _anthropic_client() -> anthropic.Anthropic:
    def handle(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=MESSAGE, headers={"content-type": "application/json"})

    return anthropic.Anthropic(
        api_key="k",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handle)),
    )


def _chat(client: openai.OpenAI) -> Callable[[], None]:
    def run() -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=200)

    return run


def _chat_stream(client: openai.OpenAI) -> Callable[[], None]:
    def run() -> None:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            max_tokens=200,
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass

    return run


def _messages(client: anthropic.Anthropic) -> Callable[[], None]:
    def run() -> None:
        client.messages.create(model="claude-sonnet-4-6", max_tokens=200, messages=MESSAGES[1:])

    return run


def main() -> None:
    init_genops()
    plain_oa, gov_oa = _openai_client(), _openai_client()
    plain_an, gov_an = _anthropic_client(), _anthropic_client()
    handles = [genops_native.instrument_openai(gov_oa), genops_native.instrument_anthropic(gov_an)]
    pairs = {
        "openai chat.completions.create": (_chat(plain_oa), _chat(gov_oa)),
        "openai chat stream (5 chunks)": (_chat_stream(plain_oa), _chat_stream(gov_oa)),
        "anthropic messages.create": (_messages(plain_an), _messages(gov_an)),
    }
    variants: dict[str, Callable[[], None]] = {}
    for name, (plain, gov) in pairs.items():
        variants[f"{name} | uninstrumented"] = plain
        variants[f"{name} | genops"] = gov
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
    for handle in handles:
        handle.uninstrument()
    genops.shutdown()
    med = {name: statistics.median(s) for name, s in samples.items()}
    print(f"openai {openai.__version__}, anthropic {anthropic.__version__}; median of {ROUNDS}×{N}")
    for name in pairs:
        base, gov = med[f"{name} | uninstrumented"], med[f"{name} | genops"]
        print(
            f"{name:32s}: uninstrumented {base:7.1f} µs, genops {gov:7.1f} µs "
            f"(+{gov - base:6.1f} µs, ×{gov / base:.2f})"
        )


if __name__ == "__main__":
    main()
