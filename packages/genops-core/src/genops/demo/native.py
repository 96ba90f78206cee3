"""Demo scenarios of the OpenAI and Anthropic SDKs (``genops demo``; entry point ``genops.demo``).

- support (OpenAI): tickets for two customers, a prompt with an e-mail address that is
  redacted before it leaves, a large completion that is warned about, an unapproved
  model that is blocked before any request is sent;
- research (Anthropic): a runaway agent loop stopped by its daily budget;
- finance (AWS Bedrock, boto3 ``converse``): invoice triage on Nova Micro, and a model
  outside the approved list blocked before botocore sends anything.
"""

from __future__ import annotations

import genops
from genops.demo import DemoContext, Scenario

TICKETS = (
    ("acme", "Reset my password, the link expired"),
    ("globex", "The invoice for November is wrong"),
    ("acme", "How do I add a second admin?"),
    ("initech", "Export all my data as CSV"),
)
RESEARCH_STEPS = 12


def support(ctx: DemoContext) -> None:
    import openai

    client = openai.OpenAI(api_key="demo", http_client=ctx.fake.http_client())
    with genops.attribution(team="support", project="helpdesk", feature="auto-reply"):
        for customer, ticket in TICKETS:
            with genops.attribution(customer_id=customer):
                client.chat.completions.create(
                    model="gpt-4o-mini",
                    max_tokens=64,
                    messages=[{"role": "user", "content": f"Draft a reply: {ticket}"}],
                )
            ctx.step()
        client.chat.completions.create(
            model="gpt-4o-mini",
            max_tokens=64,
            messages=[{"role": "user", "content": "Write to jane.doe@example.com about a refund"}],
        )
        sent = ctx.fake.last_body["messages"][0]["content"]
        ctx.note(f"the provider received {sent!r} (e-mail redacted)")
        ctx.step()
        client.chat.completions.create(  # allowed, with a WARNING decision
            model="gpt-4o-mini",
            max_tokens=2048,
            messages=[{"role": "user", "content": "Summarise this month's tickets"}],
        )
        ctx.step()
        before = ctx.fake.requests
        with ctx.may_be_blocked() as caught:
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "Summarise the quarter"}]
            )
        if caught:
            sent_now = ctx.fake.requests - before
            ctx.note(f"gpt-4o blocked by {caught[0].policy_name!r}; requests sent: {sent_now}")
        ctx.step()


def research(ctx: DemoContext) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key="demo", http_client=ctx.fake.http_client("httpx2"))
    calls = 0
    with genops.attribution(team="research", project="market-scan"):
        with ctx.may_be_blocked() as caught:
            for step in range(RESEARCH_STEPS):
                client.messages.create(
                    model="claude-3-5-haiku-latest",
                    max_tokens=64,
                    messages=[{"role": "user", "content": f"Research step {step}: next lead?"}],
                )
                calls += 1
                ctx.step()
        if caught:
            ctx.note(f"runaway agent stopped after {calls} calls: {caught[0].reason_code}")
    for _ in range(calls, RESEARCH_STEPS):
        ctx.step()


INVOICES = (("acme", "INV-1041: 12 licences, net 30"), ("globex", "INV-2210: support renewal"),
            ("initech", "INV-3302: overdue since October"))  # fmt: skip
BEDROCK_MODEL = "amazon.nova-micro-v1:0"


def finance(ctx: DemoContext) -> None:
    import boto3  # type: ignore[import-untyped]

    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=ctx.fake.url,
        aws_access_key_id="demo", aws_secret_access_key="demo",
    )  # fmt: skip
    with genops.attribution(team="finance", project="invoice-triage"):
        for customer, invoice in INVOICES:
            with genops.attribution(customer_id=customer):
                client.converse(
                    modelId=BEDROCK_MODEL,
                    messages=[{"role": "user", "content": [{"text": f"Classify: {invoice}"}]}],
                    inferenceConfig={"maxTokens": 32},
                )
            ctx.step()
        before = ctx.fake.requests
        with ctx.may_be_blocked() as caught:
            client.converse(
                modelId="anthropic.claude-3-opus-20240229-v1:0",
                messages=[{"role": "user", "content": [{"text": "Audit every invoice"}]}],
            )
        if caught:
            sent = ctx.fake.requests - before
            ctx.note(f"Bedrock opus blocked by {caught[0].policy_name!r}; requests sent: {sent}")
        ctx.step()


def scenarios() -> list[Scenario]:
    """The scenarios of the installed SDKs (none without genops-native)."""
    import genops_native  # noqa: F401  (ImportError: no scenarios)

    found: list[Scenario] = []
    try:
        import openai  # noqa: F401

        found.append(
            Scenario("openai support desk", "openai", "support", "tickets, redaction, a block",
                     len(TICKETS) + 3, support, ("gpt-4o-mini",))
        )  # fmt: skip
    except ImportError:
        pass
    try:
        import anthropic  # noqa: F401

        found.append(
            Scenario("anthropic research agent", "anthropic", "research", "a budget runs out",
                     RESEARCH_STEPS, research, ("claude-3-5-haiku-*",))
        )  # fmt: skip
    except ImportError:
        pass
    try:
        import boto3  # noqa: F401

        found.append(
            Scenario("bedrock invoice triage", "bedrock", "finance", "Converse, a model blocked",
                     len(INVOICES) + 1, finance, (BEDROCK_MODEL,))
        )  # fmt: skip
    except ImportError:
        pass
    return found
