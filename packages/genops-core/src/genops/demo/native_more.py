"""Demo scenarios of Gemini (google-genai) and LiteLLM (``genops demo``; entry point
``genops.demo``): document summaries on Gemini with an unapproved model blocked, and a
code assistant routing through LiteLLM to two providers (one via the OpenAI SDK)."""

from __future__ import annotations

import importlib.util
import os
import warnings

import genops
from genops.demo import DemoContext, Scenario

DOCS = ("q3-contract.pdf", "security-review.md", "onboarding.docx")
TASKS = ("write a retry decorator", "explain this regex", "add type hints", "review a diff")


def documents(ctx: DemoContext) -> None:
    from google import genai
    from google.genai import types

    options = types.HttpOptions(httpx_client=ctx.fake.http_client())
    client = genai.Client(api_key="demo", http_options=options)
    config = types.GenerateContentConfig(max_output_tokens=64)
    with genops.attribution(team="docs", project="doc-summaries", customer_id="acme"):
        for name in DOCS:
            client.models.generate_content(
                model="gemini-2.5-flash", contents=f"Summarise {name}", config=config
            )
            ctx.step()
        with ctx.may_be_blocked() as caught:
            client.models.generate_content(model="gemini-2.5-pro", contents="Summarise all")
        if caught:
            ctx.note(f"gemini-2.5-pro blocked by {caught[0].policy_name!r} before sending")
        ctx.step()


def codegen(ctx: DemoContext) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download
    with warnings.catch_warnings():  # LiteLLM's pydantic models warn on first use
        warnings.simplefilter("ignore")
        import litellm

        litellm.suppress_debug_info = True
        routes = (
            ("anthropic/claude-3-5-haiku-latest", ctx.fake.url),
            ("openai/gpt-4o-mini", f"{ctx.fake.url}/v1"),  # LiteLLM calls the OpenAI SDK here
        )
        with genops.attribution(team="codegen", project="ide-assistant"):
            for i, task in enumerate(TASKS):
                model, base = routes[i % 2]
                litellm.completion(
                    model=model,
                    api_base=base,
                    api_key="demo",
                    max_tokens=64,
                    messages=[{"role": "user", "content": task}],
                )
                ctx.step()


def scenarios() -> list[Scenario]:
    """The scenarios of the installed SDKs (none without genops-native)."""
    import genops_native  # noqa: F401  (ImportError: no scenarios)

    found: list[Scenario] = []
    if importlib.util.find_spec("google.genai") is not None:
        found.append(
            Scenario("gemini document summaries", "gemini", "docs", "summaries, a model blocked",
                     len(DOCS) + 1, documents, ("gemini-2.5-flash",))
        )  # fmt: skip
    if importlib.util.find_spec("litellm") is not None:
        found.append(
            Scenario("litellm code assistant", "litellm", "codegen", "two providers, one router",
                     len(TASKS), codegen)
        )  # fmt: skip
    return found
