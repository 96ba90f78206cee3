"""An offline stand-in for the OpenAI and Anthropic HTTP APIs, for the examples.

It is an ``httpx`` transport: the real ``openai`` / ``anthropic`` SDK clients talk to
it exactly as they would to the providers, and it answers in their wire formats with
deterministic usage (prompt tokens ≈ characters / 4). It counts the requests it
received, so a blocked call can be shown to have sent nothing.
"""

from __future__ import annotations

import json
import math
from types import ModuleType
from typing import Any

import httpx
import httpx2


class OfflineProvider:
    """Answers ``POST /v1/chat/completions`` and ``POST /v1/messages``.

    ``client()`` is an ``httpx.Client`` (OpenAI SDK), ``client2()`` an ``httpx2.Client``
    (the Anthropic SDK's fork of httpx); both route here.
    """

    def __init__(self) -> None:
        self.requests = 0
        self.last_body: dict[str, Any] = {}

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self._handler(httpx)))

    def client2(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self._handler(httpx2)))

    def _handler(self, http: ModuleType) -> Any:
        def handle(request: Any) -> Any:
            status, payload = self._answer(request.url.path, request.content)
            return http.Response(status, json=payload)

        return handle

    def _answer(self, path: str, content: bytes) -> tuple[int, dict[str, Any]]:
        self.requests += 1
        body = json.loads(content or b"{}")
        self.last_body = body
        text = json.dumps(body.get("messages", []))
        prompt_tokens = max(1, math.ceil(len(text) / 4))
        if path.endswith("/chat/completions"):
            completion = min(body.get("max_tokens") or body.get("max_completion_tokens") or 64, 64)
            return (
                200,
                {
                    "id": f"chatcmpl-offline-{self.requests}",
                    "object": "chat.completion",
                    "created": 1_780_000_000,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "Here is a summary."},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion,
                        "total_tokens": prompt_tokens + completion,
                        "prompt_tokens_details": {"cached_tokens": prompt_tokens // 2},
                    },
                },
            )
        if path.endswith("/messages"):
            out = min(body.get("max_tokens", 64), 64)
            return (
                200,
                {
                    "id": f"msg_offline_{self.requests}",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [{"type": "text", "text": "Here is a summary."}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": prompt_tokens, "output_tokens": out},
                },
            )
        return 404, {"error": {"message": f"no route {path}"}}
