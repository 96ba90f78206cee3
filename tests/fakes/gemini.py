"""A loopback server speaking the Gemini API / Vertex AI wire format (real HTTP).

- ``POST …/models/{model}:generateContent``: one ``GenerateContentResponse``;
- ``POST …/models/{model}:streamGenerateContent?alt=sse``: SSE ``data:`` frames, three
  text chunks, the last one carrying the finish reason and ``usageMetadata`` (as Gemini
  sends them: the earlier frames have no token counts);
- ``POST …/models/{model}:batchEmbedContents``: embeddings with ``usageMetadata``;
- ``POST …/models/{model}:predict`` (Vertex AI embeddings): per-embedding ``statistics``;
- a status >= 400 (``GeminiServer.fail``) answers Google's error JSON.

The paths work with any prefix (``/v1beta/models/…``, Vertex's
``/v1beta1/projects/p/locations/l/publishers/google/models/…``).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNKS = ("Traces ", "and metrics ", "agree.")


class GeminiServer:
    """``with GeminiServer(usage) as server: server.url``; ``server.requests`` = (path, body)."""

    def __init__(self, usage: dict[str, Any] | None = None, model: str = "gemini-2.5-flash"):
        self.usage = usage or {"promptTokenCount": 12, "candidatesTokenCount": 7}
        self.model = model
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.fail: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                fake.requests.append((self.path, body))
                if fake.fail is not None:
                    error = {"error": {"code": fake.fail, "message": "quota", "status": "X"}}
                    return self._send(fake.fail, "application/json", json.dumps(error).encode())
                route = self.path.split("?", 1)[0]
                if route.endswith(":streamGenerateContent"):
                    frames = b"".join(
                        b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in fake.chunks()
                    )
                    return self._send(200, "text/event-stream", frames)
                if route.endswith(":batchEmbedContents"):
                    n = len(body.get("requests", []))
                    answer = {
                        "embeddings": [{"values": [0.1, 0.2]}] * n,
                        "usageMetadata": {"promptTokenCount": 4 * n, "totalTokenCount": 4 * n},
                    }
                    return self._send(200, "application/json", json.dumps(answer).encode())
                if route.endswith(":predict"):  # Vertex AI text embeddings
                    stats = {"token_count": 3, "truncated": False}
                    prediction = {"embeddings": {"values": [0.5], "statistics": stats}}
                    answer = {"predictions": [prediction] * len(body.get("instances", []))}
                    return self._send(200, "application/json", json.dumps(answer).encode())
                answer = fake.response(body)
                return self._send(200, "application/json", json.dumps(answer).encode())

            def _send(self, status: int, kind: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _candidate(self, text: str, last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
        if last:
            candidate["finishReason"] = "STOP"
        return candidate

    def response(self, body: dict[str, Any]) -> dict[str, Any]:
        """Text; or, when the request offers function tools and holds no function response
        yet, a ``functionCall`` of the first tool (the SDK's automatic function calling)."""
        candidate = self._candidate("".join(CHUNKS), True)
        parts = [p for c in body.get("contents", []) for p in c.get("parts", [])]
        tools = [d for t in body.get("tools", []) for d in t.get("functionDeclarations", [])]
        if tools and not any("functionResponse" in p for p in parts):
            call = {"functionCall": {"name": tools[0]["name"], "args": {"city": "Paris"}}}
            candidate["content"]["parts"] = [call]
        return {
            "candidates": [candidate],
            "usageMetadata": self.usage,
            "modelVersion": self.model,
            "responseId": "resp-gemini-1",
        }

    def chunks(self) -> list[dict[str, Any]]:
        out = []
        for i, text in enumerate(CHUNKS):
            last = i == len(CHUNKS) - 1
            chunk: dict[str, Any] = {
                "candidates": [self._candidate(text, last)],
                "usageMetadata": self.usage if last else {"trafficType": "ON_DEMAND"},
                "modelVersion": self.model,
                "responseId": "resp-gemini-1",
            }
            out.append(chunk)
        return out

    def __enter__(self) -> GeminiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def to_loopback(url: str, *, async_: bool = False) -> Any:
    """An ``httpx`` client whose requests, whatever host they name, go to ``url`` (the SDK
    keeps its real base URL, so genops sees the provider's known host)."""
    import httpx

    port = int(url.rsplit(":", 1)[1])

    def redirect(request: Any) -> None:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=port)

    if async_:

        class AsyncToLoopback(httpx.AsyncHTTPTransport):
            async def handle_async_request(self, request: Any) -> Any:
                redirect(request)
                return await super().handle_async_request(request)

        return httpx.AsyncClient(transport=AsyncToLoopback())

    class ToLoopback(httpx.HTTPTransport):
        def handle_request(self, request: Any) -> Any:
            redirect(request)
            return super().handle_request(request)

    return httpx.Client(transport=ToLoopback())
