"""A loopback fake LLM provider for the demo and the examples (no network, no keys).

A real HTTP server on ``127.0.0.1`` (a free port) answering, deterministically:

- ``POST …/chat/completions`` (OpenAI): a text answer, or — when the request offers
  ``tools`` and the last message is not a tool result — one tool call;
- ``POST …/embeddings`` (OpenAI): small deterministic vectors;
- ``POST …/messages`` (Anthropic): a text answer;
- ``POST /model/{modelId}/converse`` (AWS Bedrock Converse): a text answer.
- ``POST …/models/{model}:generateContent`` (Gemini API): a text answer.

Usage is counted from the request (input ≈ characters / 4, output ≤ ``max_tokens``).
SDK clients keep the provider's real base URL (``https://api.openai.com/v1``), so
genops detects and prices the provider as in production; :meth:`FakeProvider.http_client`
routes their bytes to the loopback server instead::

    with FakeProvider() as fake:
        client = openai.OpenAI(api_key="demo", http_client=fake.http_client())
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])
        assert fake.requests == 1
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = "Here is a short, grounded answer."


def _tokens(payload: Any) -> int:
    return max(1, math.ceil(len(json.dumps(payload)) / 4))


def _out_tokens(body: dict[str, Any]) -> int:
    requested = body.get("max_tokens") or body.get("max_completion_tokens") or 48
    return int(min(int(requested), 48))


def chat_completion(body: dict[str, Any], n: int) -> dict[str, Any]:
    """An OpenAI chat completion answering ``body``."""
    messages = body.get("messages", [])
    prompt = _tokens(messages)
    tools = body.get("tools") or []
    message: dict[str, Any] = {"role": "assistant", "content": ANSWER}
    finish = "stop"
    if tools and (not messages or messages[-1].get("role") != "tool"):
        last_user: dict[str, Any] = next(
            (m for m in reversed(messages) if m.get("role") == "user"), {}
        )
        query = str(last_user.get("content", ""))[:60]
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_demo_{n}",
                    "type": "function",
                    "function": {
                        "name": tools[0]["function"]["name"],
                        "arguments": json.dumps({"query": query}),
                    },
                }
            ],
        }
        finish = "tool_calls"
    completion = 12 if finish == "tool_calls" else _out_tokens(body)
    return {
        "id": f"chatcmpl-demo-{n}",
        "object": "chat.completion",
        "created": 1_780_000_000,
        "model": body.get("model", "unknown"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI embeddings: 8-dimensional vectors derived from each input's hash."""
    inputs = body.get("input", [])
    if isinstance(inputs, str):
        inputs = [inputs]
    data = []
    for i, text in enumerate(inputs):
        digest = hashlib.sha256(str(text).encode()).digest()
        data.append({"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:8]]})
    tokens = sum(_tokens(t) for t in inputs)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", "unknown"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def anthropic_message(body: dict[str, Any], n: int) -> dict[str, Any]:
    """An Anthropic Messages API answer."""
    prompt = _tokens([body.get("system", ""), body.get("messages", [])])
    return {
        "id": f"msg_demo_{n}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "unknown"),
        "content": [{"type": "text", "text": ANSWER}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": _out_tokens(body)},
    }


def bedrock_converse(body: dict[str, Any]) -> dict[str, Any]:
    """A Bedrock ``Converse`` answer (``botocore`` parses it like the real service's)."""
    prompt = _tokens([body.get("system", []), body.get("messages", [])])
    cap = body.get("inferenceConfig", {}).get("maxTokens") or 48
    completion = int(min(int(cap), 48))
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": prompt, "outputTokens": completion,
                  "totalTokens": prompt + completion},
        "metrics": {"latencyMs": 12},
    }  # fmt: skip


def gemini_response(body: dict[str, Any], model: str, n: int) -> dict[str, Any]:
    """A Gemini API ``generateContent`` answer (``usageMetadata`` included)."""
    prompt = _tokens(body.get("contents", []))
    cap = (body.get("generationConfig") or {}).get("maxOutputTokens") or 48
    out = int(min(int(cap), 48))
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": ANSWER}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": out},
        "modelVersion": model,
        "responseId": f"gemini-demo-{n}",
    }


class FakeProvider:
    """The loopback server; a context manager (``close()`` stops it)."""

    def __init__(self) -> None:
        self.requests = 0
        self.last_body: dict[str, Any] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload = fake.answer(self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the demo prints its own story."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="genops-demo-provider", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` — use it as a gateway-style base URL."""
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            n = self.requests
            self.last_body = body
        route = path.split("?", 1)[0]
        if route.endswith("/chat/completions"):
            return 200, chat_completion(body, n)
        if route.endswith("/embeddings"):
            return 200, embeddings(body)
        if route.endswith("/messages"):
            return 200, anthropic_message(body, n)
        if route.startswith("/model/") and route.endswith("/converse"):
            return 200, bedrock_converse(body)
        if route.endswith(":generateContent"):
            return 200, gemini_response(body, route.rsplit("/", 1)[1].split(":")[0], n)
        return 404, {"error": {"message": f"the demo provider has no route {route}"}}

    def http_client(self, module: str = "httpx") -> Any:
        """An ``httpx`` (or ``httpx2``, the Anthropic SDK's fork) client whose requests,
        whatever host they name, are sent to this loopback server."""
        import importlib

        http = importlib.import_module(module)
        port = self.port

        class ToLoopback(http.HTTPTransport):  # type: ignore[misc,name-defined]
            def handle_request(self, request: Any) -> Any:
                request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)
                return super().handle_request(request)

        return http.Client(transport=ToLoopback())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
