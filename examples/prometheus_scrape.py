"""Deployment option 3 — a Prometheus scrape endpoint (``pip install "genops-core[prometheus]"``).

The app serves ``/metrics`` and Prometheus scrapes it; deploy/prometheus/genops-rules.yml
records spend per team and model from it and deploy/grafana/genops-overview.json charts
that. Traces still go to the local spend store (no OTLP endpoint is set), so
``genops report`` answers from the same run.

This example serves on a loopback port, runs a small two-team workload against the
loopback fake provider, prints the scrape URL and keeps serving until Enter (or the end
of its input)::

    uv run python examples/prometheus_scrape.py 9464
    curl -s http://127.0.0.1:9464/metrics | grep genops_cost   # in another shell

``genops_cost_USD_total{genops_team="support",...}`` is the spend counter (USD);
``gen_ai_client_token_usage_*`` the token histograms of the GenAI semantic conventions.
"""

from __future__ import annotations

import socket
import sys

import openai

import genops
from genops.demo import FakeProvider

WORKLOAD = (  # (team, project, customer, questions)
    ("support", "helpdesk", "acme", ("Reset my password", "Where is my invoice?")),
    ("search", "docs-qa", "globex", ("How do refunds work?",)),
)


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(port: int) -> None:
    genops.init(
        service_name="prometheus-example",
        environment="example",
        metrics_exporter="prometheus",  # or OTEL_METRICS_EXPORTER=prometheus
        prometheus_host="127.0.0.1",  # OTEL_EXPORTER_PROMETHEUS_HOST (default localhost)
        prometheus_port=port,  # OTEL_EXPORTER_PROMETHEUS_PORT (default 9464)
    )
    with FakeProvider() as fake:
        client = openai.OpenAI(api_key="example", http_client=fake.http_client())
        for team, project, customer, questions in WORKLOAD:
            with genops.attribution(team=team, project=project, customer_id=customer):
                for question in questions:
                    client.chat.completions.create(
                        model="gpt-4o-mini",
                        max_tokens=32,
                        messages=[{"role": "user", "content": question}],
                    )
        print(f"{fake.requests} governed calls; scrape http://127.0.0.1:{port}/metrics")
        print("press Enter to stop", flush=True)
        sys.stdin.readline()
    genops.shutdown()  # stops the scrape server, flushes the local store


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else free_loopback_port())
