"""OpenAI and Anthropic wire formats (JSON bodies and SSE events) for the fake provider.

Shapes follow what the real APIs send (see the recorded cassettes under
``shared/fixtures/cassettes``): usage blocks with cached and reasoning tokens,
the chat ``include_usage`` final chunk, Responses ``response.completed``, Anthropic
``message_start`` / ``message_delta`` usage.
"""

from __future__ import annotations

import json
from typing import Any

CREATED = 1_731_368_639


def sse(events: list[tuple[str | None, Any]]) -> bytes:
    """Encode ``(event name or None, data)`` pairs as a text/event-stream body."""
    out: list[str] = []
    for name, data in events:
        if name is not None:
            out.append(f"event: {name}")
        out.append(f"data: {data if isinstance(data, str) else json.dumps(data)}")
        out.append("")
    return ("\n".join(out) + "\n").encode()


# --- OpenAI chat ------------------------------------------------------------------------


def chat_usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
    }


def chat_completion(
    model: str,
    text: str = "Hello!",
    usage: dict[str, Any] | None = None,
    *,
    tool_call: bool = False,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None if tool_call else text}
    if tool_call:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ]
    body: dict[str, Any] = {
        "id": "chatcmpl-fake1",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_call else "stop",
                "logprobs": None,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def chat_stream(model: str, pieces: list[str], usage: dict[str, Any] | None) -> bytes:
    """Chat chunks; the usage chunk (empty choices) only when ``usage`` is given."""

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake1",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    events: list[tuple[str | None, Any]] = [
        (None, chunk({"role": "assistant", "content": ""}, None))
    ]
    events += [(None, chunk({"content": p}, None)) for p in pieces]
    events.append((None, chunk({}, "stop")))
    if usage is not None:
        events.append(
            (
                None,
                {
                    "id": "chatcmpl-fake1",
                    "object": "chat.completion.chunk",
                    "created": CREATED,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                },
            )
        )
    events.append((None, "[DONE]"))
    return sse(events)


# --- OpenAI Responses ---------------------------------------------------------------------


def responses_usage(inp: int, out: int, cached: int = 0, reasoning: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inp + out,
    }


def response(
    model: str, text: str = "Hello!", usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": "resp_fake1",
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_fake1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def responses_stream(model: str, pieces: list[str], usage: dict[str, Any] | None) -> bytes:
    created = response(model, "", None) | {"status": "in_progress", "output": []}
    events: list[tuple[str | None, Any]] = [
        (
            "response.created",
            {"type": "response.created", "sequence_number": 0, "response": created},
        )
    ]
    for i, p in enumerate(pieces):
        events.append(
            (
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "sequence_number": i + 1,
                    "item_id": "msg_fake1",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": p,
                    "logprobs": [],
                },
            )
        )
    if usage is not None:
        done = response(model, "".join(pieces), usage)
        events.append(
            (
                "response.completed",
                {
                    "type": "response.completed",
                    "sequence_number": len(pieces) + 1,
                    "response": done,
                },
            )
        )
    return sse(events)


# --- OpenAI embeddings ------------------------------------------------------------------


def embeddings(model: str, count: int, prompt_tokens: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "list",
        "model": model,
        "data": [
            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(count)
        ],
    }
    if prompt_tokens is not None:
        body["usage"] = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    return body


# --- Anthropic ------------------------------------------------------------------------------


def anthropic_usage(
    inp: int, out: int, cache_read: int = 0, cache_write: int = 0
) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }


def message(
    model: str, text: str = "Hello!", usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": "msg_fake1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage if usage is not None else {},
    }


def message_stream(model: str, pieces: list[str], usage: dict[str, Any] | None) -> bytes:
    """``message_start`` (input + cache tokens), deltas, ``message_delta`` (output tokens)."""
    usage = usage or {}
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"} | {"output_tokens": 1}
    start = message(model, "", start_usage) | {"content": [], "stop_reason": None}
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    for p in pieces:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    if "output_tokens" in usage:
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
    return sse(events)


def openai_error(status: int) -> dict[str, Any]:
    kinds = {429: "rate_limit_exceeded", 500: "server_error", 404: "not_found"}
    return {
        "error": {
            "message": f"fake error {status}",
            "type": kinds.get(status, "error"),
            "code": None,
        }
    }


def anthropic_error(status: int) -> dict[str, Any]:
    kinds = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}
    return {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": "fake"}}
