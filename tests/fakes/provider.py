"""A loopback fake LLM provider speaking the OpenAI and Anthropic wire formats.

One :class:`FakeProvider` answers requests from a script (or, by default, from the
request itself) and counts every request it receives. It is reachable two ways:

- :meth:`FakeProvider.serve`: a real HTTP server on ``127.0.0.1`` in a thread;
- :meth:`FakeProvider.transport` / :meth:`FakeProvider.transport2`: an ``httpx`` /
  ``httpx2`` (the Anthropic SDK's fork) mock transport, so a client keeps a real
  provider base URL (``https://api.groq.com/openai/v1``) and needs no socket.

::

    fake = FakeProvider()
    fake.script(Reply.json(wire.chat_completion("gpt-4o-mini", usage=wire.chat_usage(9, 3))))
    client = OpenAI(api_key="k", http_client=httpx.Client(transport=fake.transport()))
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    assert fake.request_count == 1
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import httpx2

from tests.fakes import wire

DEFAULT_CHAT_USAGE = wire.chat_usage(21, 7, cached=5, reasoning=2)
DEFAULT_RESPONSES_USAGE = wire.responses_usage(30, 12, cached=10, reasoning=4)
DEFAULT_ANTHROPIC_USAGE = wire.anthropic_usage(25, 9, cache_read=100, cache_write=40)


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    #: Seconds to wait before answering (use with a short client timeout).
    delay: float = 0.0
    #: Transport only: raise a read timeout instead of answering.
    timeout: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Reply:
        return cls(status=status, body=json.dumps(data).encode())

    @classmethod
    def sse(cls, body: bytes) -> Reply:
        return cls(body=body, content_type="text/event-stream")

    @classmethod
    def raw(cls, text: str, status: int = 200) -> Reply:
        """A malformed (non-JSON) body."""
        return cls(status=status, body=text.encode())


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProvider:
    """Scripted replies first (FIFO), then a default reply built from the request."""

    requests: list[Recorded] = field(default_factory=list)
    _script: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def respond(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(Recorded(method, path, headers, body))
            if self._script:
                return self._script.popleft()
        return default_reply(path, body if isinstance(body, dict) else {})

    # --- access ---------------------------------------------------------------------------
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handler(httpx))

    def transport2(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self._handler(httpx2))

    def _handler(self, lib: Any) -> Any:
        def handle(request: Any) -> Any:
            reply = self.respond(
                request.method, request.url.path, dict(request.headers), request.read()
            )
            if reply.timeout:
                raise lib.ReadTimeout("fake provider timed out", request=request)
            if reply.delay:
                time.sleep(reply.delay)
            return lib.Response(
                reply.status, headers={"content-type": reply.content_type}, content=reply.body
            )

        return handle

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Run a real HTTP server on 127.0.0.1; yields its base URL (``http://127.0.0.1:N``)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                reply = fake.respond("POST", self.path, dict(self.headers.items()), raw)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)


def default_reply(path: str, body: dict[str, Any]) -> Reply:
    """What the real API would answer to ``body`` (usage with cache/reasoning tokens)."""
    model = str(body.get("model") or "unknown-model")
    stream = body.get("stream") is True
    if path.endswith("/chat/completions"):
        if stream:
            wants_usage = (body.get("stream_options") or {}).get("include_usage") is True
            return Reply.sse(
                wire.chat_stream(
                    model, ["Hel", "lo", "!"], DEFAULT_CHAT_USAGE if wants_usage else None
                )
            )
        return Reply.json(wire.chat_completion(model, usage=DEFAULT_CHAT_USAGE))
    if path.endswith("/responses"):
        if stream:
            return Reply.sse(
                wire.responses_stream(model, ["Hel", "lo", "!"], DEFAULT_RESPONSES_USAGE)
            )
        return Reply.json(wire.response(model, usage=DEFAULT_RESPONSES_USAGE))
    if path.endswith("/embeddings"):
        data = body.get("input")
        count = len(data) if isinstance(data, list) else 1
        return Reply.json(wire.embeddings(model, count, 8 * count))
    if path.endswith("/messages"):
        if stream:
            return Reply.sse(
                wire.message_stream(model, ["Hel", "lo", "!"], DEFAULT_ANTHROPIC_USAGE)
            )
        return Reply.json(wire.message(model, usage=DEFAULT_ANTHROPIC_USAGE))
    return Reply.json({"error": {"message": f"no route {path}"}}, status=404)
