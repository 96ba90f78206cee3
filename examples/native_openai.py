"""Integration: the OpenAI SDK (``genops-native``), with a policy that blocks before spend.

uv run python examples/native_openai.py
"""

from __future__ import annotations

import openai

import genops
from genops.demo import FakeProvider

POLICY = {
    "version": 1,
    "policies": [{"name": "approved", "type": "allowed_models", "models": ["gpt-4o-mini"]}],
}


def main() -> None:
    with FakeProvider() as fake:
        genops.init(service_name="openai-example", team="support", project="helpdesk",
                    policy=POLICY, local_store=False)  # fmt: skip
        client = openai.OpenAI(api_key="example", http_client=fake.http_client())
        reply = client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=16, messages=[{"role": "user", "content": "Hi"}]
        )
        print(f"gpt-4o-mini answered: {reply.choices[0].message.content!r}")
        try:
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]
            )
        except genops.PolicyViolationError as err:
            print(f"gpt-4o blocked: {err.reason_code} by {err.policy_name!r}; "
                  f"requests the provider received: {fake.requests}")  # fmt: skip
        genops.shutdown()


if __name__ == "__main__":
    main()
