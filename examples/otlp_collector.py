"""Deployment option 2 — OTLP to a collector (what production fleets run).

Setting the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` switches genops to OTLP exactly as
the OpenTelemetry SDK would (add ``local_store=True`` to keep the store beside it). This
example starts a loopback stand-in for a collector's OTLP/HTTP receiver and shows that
the spans arrive there.

    uv run python examples/otlp_collector.py
    OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 python your_app.py   # for real
"""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai

import genops
from genops.demo import FakeProvider

received: list[str] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        received.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def main() -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{collector.server_port}"
    with FakeProvider() as fake:
        genops.init(service_name="otlp-example", team="search", project="docs-qa")
        client = openai.OpenAI(api_key="example", http_client=fake.http_client())
        client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=16, messages=[{"role": "user", "content": "Hello"}]
        )
        genops.shutdown()
    collector.shutdown()
    print(f"collector received: {sorted(set(received))}")


if __name__ == "__main__":
    main()
