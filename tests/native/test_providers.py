"""Provider detection from the base URL, and pricing through one wrapper (30+ providers)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

import genops
import genops_native
from genops import attributes as A
from tests.fakes.provider import FakeProvider
from tests.native.prices import reference_cost

CHAT_USAGE = genops.Usage(21, 7, cache_read_tokens=5, reasoning_tokens=2)

# (base URL, gen_ai.provider.name, genai-prices provider id or None, a model it serves)
PRICED = [
    ("https://api.openai.com/v1", "openai", "openai", "gpt-4o-mini"),
    ("https://api.anthropic.com/v1/", "anthropic", "anthropic", "claude-sonnet-4-6"),
    ("https://acme.openai.azure.com/openai/deployments/mini", "azure.ai.openai", "azure", "gpt-4o-mini"),
    ("https://acme.cognitiveservices.azure.com/openai/v1/", "azure.ai.openai", "azure", "gpt-4o-mini"),
    ("https://api.groq.com/openai/v1", "groq", "groq", "llama-3.3-70b-versatile"),
    ("https://acme.services.ai.azure.com/models", "azure.ai.inference", "azure", "gpt-4o-mini"),
    ("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints/openapi", "gcp.vertex_ai", "google", "gemini-2.5-flash"),
    ("https://api.together.ai/v1", "together", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ("https://api.moonshot.cn/v1", "moonshot_ai", "moonshotai", "kimi-k2"),
    ("https://adb-42.7.azuredatabricks.net/serving-endpoints", "databricks", "databricks", "databricks-meta-llama-3-3-70b-instruct"),
    ("https://api.together.xyz/v1", "together", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ("https://api.fireworks.ai/inference/v1", "fireworks", "fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct"),
    ("https://api.mistral.ai/v1", "mistral_ai", "mistral", "mistral-small-2603"),
    ("https://api.deepseek.com/v1", "deepseek", "deepseek", "deepseek-chat"),
    ("https://openrouter.ai/api/v1", "openrouter", "openrouter", "openai/gpt-4o-mini"),
    ("https://api.perplexity.ai", "perplexity", "perplexity", "sonar"),
    ("https://api.x.ai/v1", "x_ai", "x-ai", "grok-3"),
    ("https://api.cerebras.ai/v1", "cerebras", "cerebras", "llama-3.3-70b"),
    ("https://generativelanguage.googleapis.com/v1beta/openai/", "gcp.gemini", "google", "gemini-2.5-flash"),
    ("https://api.novita.ai/v3/openai", "novita", "novita", "meta-llama/llama-3.3-70b-instruct"),
    ("https://api.moonshot.ai/v1", "moonshot_ai", "moonshotai", "kimi-k2"),
    ("https://open.bigmodel.cn/api/paas/v4/", "zhipuai", "zhipuai", "GLM-4-Air"),
    ("https://api.z.ai/api/paas/v4/", "zai", "zai", "GLM-4.5"),
    ("https://inference.baseten.co/v1", "baseten", "baseten", "deepseek-ai/DeepSeek-V4-Pro"),
    ("https://dbc-1a2b.cloud.databricks.com/serving-endpoints", "databricks", "databricks", "databricks-meta-llama-3-3-70b-instruct"),
    ("https://api.cloudflare.com/client/v4/accounts/abc/ai/v1", "cloudflare", "cloudflare", "@cf/meta/llama-3.1-8b-instruct"),
    ("https://oai.endpoints.kepler.ai.cloud.ovh.net/v1", "ovhcloud", "ovhcloud", "Llama-3.1-8B-Instruct"),
    ("https://api.arcee.ai/api/v1", "arcee", "arcee", "deepseek/deepseek-v4-pro"),
    ("https://api.avian.io/v1", "avian", "avian", "Meta-Llama-3.3-70B-Instruct"),
    ("https://api.minimax.io/v1", "minimax", "minimax", "MiniMax-M2"),
    ("https://api.doubleword.ai/v1", "doubleword", "doubleword", "Qwen/Qwen3-14B-FP8"),
    ("https://api.cohere.ai/compatibility/v1", "cohere", "cohere", "command-r"),
    ("https://bedrock-runtime.eu-west-1.amazonaws.com/openai/v1", "aws.bedrock", "aws", "anthropic.claude-3-5-haiku-20241022-v1:0"),
]  # fmt: skip

UNPRICED = [
    ("http://localhost:11434/v1", "ollama", "llama3.2"),
    ("http://ollama:11434/v1", "ollama", "llama3.2"),
    ("http://127.0.0.1:8000/v1", "vllm", "meta-llama/Llama-3.1-8B-Instruct"),
    ("http://localhost:1234/v1", "lm_studio", "qwen2.5-7b-instruct"),
    ("https://api.deepinfra.com/v1/openai", "deepinfra", "meta-llama/Llama-3.3-70B-Instruct"),
    ("https://integrate.api.nvidia.com/v1", "nvidia_nim", "meta/llama-3.1-8b-instruct"),
    ("https://api.hyperbolic.xyz/v1", "hyperbolic", "meta-llama/Llama-3.3-70B-Instruct"),
    ("https://api.sambanova.ai/v1", "sambanova", "Meta-Llama-3.3-70B-Instruct"),
    ("https://models.github.ai/inference", "github_models", "openai/gpt-4.1"),
    ("https://api.studio.nebius.com/v1/", "nebius", "meta-llama/Llama-3.3-70B-Instruct"),
    ("https://api.scaleway.ai/v1", "scaleway", "llama-3.3-70b-instruct"),
    ("https://api.lambda.ai/v1", "lambda", "llama3.3-70b-instruct-fp8"),
    ("https://api.endpoints.anyscale.com/v1", "anyscale", "meta-llama/Llama-2-70b-chat-hf"),
    ("https://router.huggingface.co/v1", "huggingface", "meta-llama/Llama-3.3-70B-Instruct"),
    ("https://api.friendli.ai/serverless/v1", "friendli", "meta-llama-3.3-70b-instruct"),
    ("https://api.siliconflow.cn/v1", "siliconflow", "Qwen/Qwen2.5-72B-Instruct"),
    ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "alibaba_dashscope", "qwen-plus"),
    ("https://api.ai21.com/studio/v1", "ai21", "jamba-large"),
    ("https://api.upstage.ai/v1", "upstage", "solar-pro"),
    # known to genai-prices, but without a per-token price (a subscription)
    ("https://api.githubcopilot.com", "github-copilot", "gpt-4o-mini"),
    ("https://api.llama.com/compat/v1/", "meta_llama", "Llama-4-Maverick-17B-128E-Instruct-FP8"),
    # an unknown host serving a model its wire family does not price: the host, cost unknown
    ("https://llm-gateway.internal.example.com/v1", "llm-gateway.internal.example.com", "my-llama-70b"),
]  # fmt: skip


def test_at_least_thirty_providers_are_detected_and_priced() -> None:
    assert len(PRICED) >= 30
    assert len({name for _, name, _, _ in PRICED} | {name for _, name, _ in UNPRICED}) >= 45
    for info in genops_native.PROVIDERS:  # every documented example URL maps back
        assert genops_native.detect_provider(info.example).name == info.name, info


@pytest.mark.parametrize(
    ("base_url", "provider", "price_id", "model"), PRICED, ids=[p[1] + ":" + p[0] for p in PRICED]
)
def test_priced_provider_cost_equals_genai_prices(
    native: genops.GenOps,
    telemetry: Any,
    make_openai: Any,
    base_url: str,
    provider: str,
    price_id: str,
    model: str,
) -> None:
    make_openai(base_url=base_url).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}]
    )
    (span,) = telemetry.spans()
    attrs = span.attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == provider
    assert attrs[A.SERVER_ADDRESS] == httpx.URL(base_url).host
    assert attrs[A.COST_TOTAL] == float(reference_cost(price_id, model, CHAT_USAGE))
    assert attrs[A.COST_TOTAL] > 0
    assert attrs[A.ACCOUNTING_UNIT] == "USD"  # the reservation was priced too


@pytest.mark.parametrize(("base_url", "provider", "model"), UNPRICED, ids=[p[1] for p in UNPRICED])
def test_unpriced_provider_cost_is_unknown_not_zero(
    native: genops.GenOps,
    telemetry: Any,
    make_openai: Any,
    base_url: str,
    provider: str,
    model: str,
) -> None:
    make_openai(base_url=base_url).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hi"}]
    )
    (span,) = telemetry.spans()
    attrs = span.attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == provider
    assert attrs[A.COST_UNKNOWN] is True
    assert A.COST_TOTAL not in attrs
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 21  # tokens are still counted
    assert attrs[A.ACCOUNTING_UNIT] == "tokens"
    cost_unknown = telemetry.metrics()[A.METRIC_COST_UNKNOWN]
    assert cost_unknown[0].attributes[A.GEN_AI_PROVIDER_NAME] == provider


def test_azure_openai_client(native: genops.GenOps, telemetry: Any, fake: FakeProvider) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint="https://acme.openai.azure.com",
        azure_deployment="mini-prod",
        api_version="2024-10-21",
        api_key="k",
        http_client=httpx.Client(transport=fake.transport()),
    )
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    assert fake.last.path == "/openai/deployments/mini-prod/chat/completions"
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert span.attributes[A.COST_TOTAL] == float(
        reference_cost("azure", "gpt-4o-mini", CHAT_USAGE)
    )


def test_provider_override_for_a_private_gateway(
    runtime: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    client = make_openai(base_url="https://llm-gateway.internal.example.com/v1")
    handle = genops_native.instrument_openai(client, provider="openai")
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
    finally:
        handle.uninstrument()
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert span.attributes[A.SERVER_ADDRESS] == "llm-gateway.internal.example.com"
    assert span.attributes[A.COST_TOTAL] == float(
        reference_cost("openai", "gpt-4o-mini", CHAT_USAGE)
    )


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://ai.example.com/openai/v1", "ai.example.com"),
        ("https://sagemaker.us-east-1.amazonaws.com/v1", "sagemaker.us-east-1.amazonaws.com"),
        ("https://api.cloudflare.com/client/v4/zones", "api.cloudflare.com"),
        ("http://localhost:9999/v1", "localhost"),
        ("http://vllm:8080/v1", "vllm"),
        ("http://lmstudio.lan:1234/v1", "lm_studio"),
        ("", "openai"),
    ],
)
def test_detection_edge_cases(url: str, name: str) -> None:
    assert genops_native.detect_provider(url).name == name
