"""Deployment option 1 — SDK only, to the local spend store (no collector, no network).

With no OTLP endpoint configured, ``genops.init()`` writes every governed unit to the
local store; ``genops report`` answers spend questions from it.

    uv run python examples/sdk_local_store.py && uv run genops report --since 1h --by team,model
"""

from __future__ import annotations

import openai

import genops
from genops.demo import FakeProvider
from genops.report import build, render
from genops.store import LocalStore, Query, default_path


def main() -> None:
    with FakeProvider() as fake:  # offline stand-in for api.openai.com
        genops.init(service_name="sdk-example", team="support", project="helpdesk")
        client = openai.OpenAI(api_key="example", http_client=fake.http_client())
        for customer in ("acme", "globex"):
            with genops.attribution(customer_id=customer):
                client.chat.completions.create(
                    model="gpt-4o-mini",
                    max_tokens=32,
                    messages=[{"role": "user", "content": "Draft a friendly greeting"}],
                )
        genops.shutdown()  # flushes the local store first (bounded, 5 s by default)
    store = LocalStore(default_path(), readonly=True)
    print(render(build(store, Query.last("1h", by=("team", "customer"))), "table"))
    store.close()


if __name__ == "__main__":
    main()
