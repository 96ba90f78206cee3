"""Integration: AWS Bedrock through boto3 (``genops-native``) — ``converse`` calls
governed through botocore's own event system, priced from the model id, and a model
outside the approved list blocked before botocore sends anything.

    uv run python examples/native_bedrock.py
"""

from __future__ import annotations

import boto3

import genops
from genops.demo import FakeProvider
from genops.store import LocalStore, Query, spend

MODEL = "amazon.nova-micro-v1:0"
POLICY = {
    "version": 1,
    "policies": [{"name": "approved", "type": "allowed_models", "models": [MODEL]}],
}


def main() -> None:
    with FakeProvider() as fake:
        genops.init(service_name="bedrock-example", team="finance", project="invoice-triage",
                    policy=POLICY)  # fmt: skip
        client = boto3.client(  # created after init(): instrumented
            "bedrock-runtime", region_name="us-east-1", endpoint_url=fake.url,
            aws_access_key_id="example", aws_secret_access_key="example",
        )  # fmt: skip
        reply = client.converse(
            modelId=MODEL,
            messages=[{"role": "user", "content": [{"text": "Classify: INV-1041, net 30"}]}],
            inferenceConfig={"maxTokens": 32},
        )
        print(f"{MODEL} answered: {reply['output']['message']['content'][0]['text']!r}")
        try:
            client.converse(
                modelId="anthropic.claude-3-opus-20240229-v1:0",
                messages=[{"role": "user", "content": [{"text": "Audit every invoice"}]}],
            )
        except genops.PolicyViolationError as err:
            print(f"opus blocked: {err.reason_code} by {err.policy_name!r}; "
                  f"requests the provider received: {fake.requests}")  # fmt: skip
        genops.shutdown()
    store = LocalStore(readonly=True)
    for row in spend(store, Query.last("10m", by=("team", "provider", "model"))):
        tokens = f"{row['input_tokens']}+{row['output_tokens']} tokens"
        print(f"{row['team']} {row['provider']} {row['model']} {row['calls']} calls {tokens} "
              f"${row['cost']:.6f}")  # fmt: skip
    store.close()


if __name__ == "__main__":
    main()
