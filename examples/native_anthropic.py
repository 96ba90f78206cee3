"""Integration: the Anthropic SDK (``genops-native``), zero-code after ``genops.init()``.

uv run python examples/native_anthropic.py
"""

from __future__ import annotations

import anthropic

import genops
from genops.demo import FakeProvider


def main() -> None:
    with FakeProvider() as fake:
        genops.init(service_name="anthropic-example", team="research", project="market-scan",
                    local_store=False, exporter="console")  # fmt: skip
        client = anthropic.Anthropic(api_key="example", http_client=fake.http_client("httpx2"))
        message = client.messages.create(
            model="claude-3-5-haiku-latest",
            max_tokens=32,
            messages=[{"role": "user", "content": "Name one risk of vendor lock-in"}],
        )
        genops.shutdown()
    text = getattr(message.content[0], "text", "")
    usage = message.usage
    print(f"answer: {text!r}; usage: {usage.input_tokens} in, {usage.output_tokens} out")


if __name__ == "__main__":
    main()
