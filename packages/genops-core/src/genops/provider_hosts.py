"""The known-host table: which provider a base URL names (step 3 of
:func:`genops.providers.resolve_provider`; moved here from genops-native, whose
``genops_native.detect_provider`` / ``PROVIDERS`` re-export it).

The OpenAI SDK is the client of dozens of OpenAI-compatible services; the span's
``gen_ai.provider.name`` (and so the price) must name the service, not the SDK::

    >>> detect_provider("https://api.groq.com/openai/v1").name
    'groq'
    >>> detect_provider("https://my-resource.openai.azure.com/openai/").name
    'azure.ai.openai'
    >>> detect_provider("http://localhost:11434/v1").name
    'ollama'
    >>> detect_provider("https://llm.internal.example.com/v1").name   # unknown: the host
    'llm.internal.example.com'

Names are the semconv ``gen_ai.provider.name`` values where the conventions define
one (``openai``, ``azure.ai.openai``, ``groq``, ``mistral_ai``, ``x_ai``, ``gcp.gemini``
…) and the lowercase ``genai-prices`` provider id otherwise, so that
:class:`genops.pricing.PriceBook` prices them; providers genai-prices does not price
(local servers, most GPU clouds) get a cost recorded as unknown, never $0.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["PROVIDERS", "DetectedProvider", "ProviderInfo", "detect_provider"]


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """One known OpenAI-compatible (or Anthropic-compatible) service."""

    #: ``gen_ai.provider.name`` recorded on spans and used for pricing.
    name: str
    #: Human-readable name (README table).
    label: str
    #: Exact host names, or suffixes starting with ``.`` (``.openai.azure.com``).
    hosts: tuple[str, ...]
    #: A typical base URL (documentation and tests).
    example: str
    #: Only match when the URL path starts with this (hosts shared by several APIs).
    path_prefix: str = ""
    #: Only match hosts starting with this (a suffix shared by unrelated services).
    host_prefix: str = ""

    def matches(self, host: str, path: str) -> bool:
        return host.startswith(self.host_prefix) and path.startswith(self.path_prefix)


#: Every service recognised from a base URL. Loopback URLs are matched by port below.
PROVIDERS: tuple[ProviderInfo, ...] = (
    ProviderInfo("openai", "OpenAI", ("api.openai.com",), "https://api.openai.com/v1"),
    ProviderInfo("anthropic", "Anthropic", ("api.anthropic.com",), "https://api.anthropic.com/v1"),
    ProviderInfo(
        "azure.ai.openai",
        "Azure OpenAI",
        (".openai.azure.com", ".cognitiveservices.azure.com", ".azure-api.net"),
        "https://my-resource.openai.azure.com/openai/",
    ),
    ProviderInfo(
        "azure.ai.inference",
        "Azure AI Foundry (model inference)",
        (".services.ai.azure.com", ".models.ai.azure.com"),
        "https://my-project.services.ai.azure.com/models",
    ),
    ProviderInfo("groq", "Groq", ("api.groq.com",), "https://api.groq.com/openai/v1"),
    ProviderInfo(
        "together",
        "Together AI",
        ("api.together.xyz", "api.together.ai"),
        "https://api.together.xyz/v1",
    ),
    ProviderInfo(
        "fireworks", "Fireworks AI", ("api.fireworks.ai",), "https://api.fireworks.ai/inference/v1"
    ),
    ProviderInfo("mistral_ai", "Mistral AI", ("api.mistral.ai",), "https://api.mistral.ai/v1"),
    ProviderInfo("deepseek", "DeepSeek", ("api.deepseek.com",), "https://api.deepseek.com/v1"),
    ProviderInfo(
        "openrouter",
        "OpenRouter",
        ("openrouter.ai", "api.openrouter.ai"),
        "https://openrouter.ai/api/v1",
    ),
    ProviderInfo("perplexity", "Perplexity", ("api.perplexity.ai",), "https://api.perplexity.ai"),
    ProviderInfo("x_ai", "xAI (Grok)", ("api.x.ai",), "https://api.x.ai/v1"),
    ProviderInfo("cerebras", "Cerebras", ("api.cerebras.ai",), "https://api.cerebras.ai/v1"),
    ProviderInfo(
        "gcp.gemini",
        "Google Gemini API (OpenAI endpoint)",
        ("generativelanguage.googleapis.com",),
        "https://generativelanguage.googleapis.com/v1beta/openai/",
    ),
    ProviderInfo(
        "gcp.vertex_ai",
        "Google Vertex AI",
        ("aiplatform.googleapis.com", "-aiplatform.googleapis.com"),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints/openapi",
    ),
    ProviderInfo(
        "aws.bedrock",
        "AWS Bedrock",
        (".amazonaws.com",),
        "https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1",
        host_prefix="bedrock-runtime.",
    ),
    ProviderInfo(
        "cohere",
        "Cohere",
        ("api.cohere.ai", "api.cohere.com"),
        "https://api.cohere.ai/compatibility/v1",
    ),
    ProviderInfo("novita", "Novita AI", ("api.novita.ai",), "https://api.novita.ai/v3/openai"),
    ProviderInfo(
        "moonshot_ai",  # semconv id (was "moonshotai", genai-prices' id: core maps it)
        "Moonshot AI (Kimi)",
        ("api.moonshot.ai", "api.moonshot.cn"),
        "https://api.moonshot.ai/v1",
    ),
    ProviderInfo(
        "zhipuai",
        "Zhipu AI (BigModel)",
        ("open.bigmodel.cn",),
        "https://open.bigmodel.cn/api/paas/v4/",
    ),
    ProviderInfo("zai", "Z.AI", ("api.z.ai",), "https://api.z.ai/api/paas/v4/"),
    ProviderInfo(
        "baseten", "Baseten", ("inference.baseten.co",), "https://inference.baseten.co/v1"
    ),
    ProviderInfo(
        "databricks",
        "Databricks Model Serving",
        (".cloud.databricks.com", ".azuredatabricks.net", ".gcp.databricks.com"),
        "https://dbc-1234.cloud.databricks.com/serving-endpoints",
    ),
    ProviderInfo(
        "cloudflare",
        "Cloudflare Workers AI",
        ("api.cloudflare.com",),
        "https://api.cloudflare.com/client/v4/accounts/acct/ai/v1",
        path_prefix="/client/v4/accounts/",
    ),
    ProviderInfo(
        "ovhcloud",
        "OVHcloud AI Endpoints",
        (".endpoints.kepler.ai.cloud.ovh.net",),
        "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1",
    ),
    ProviderInfo("arcee", "Arcee AI", ("api.arcee.ai",), "https://api.arcee.ai/api/v1"),
    ProviderInfo("avian", "Avian", ("api.avian.io",), "https://api.avian.io/v1"),
    ProviderInfo(
        "minimax", "MiniMax", ("api.minimax.io", "api.minimaxi.com"), "https://api.minimax.io/v1"
    ),
    ProviderInfo(
        "github-copilot",
        "GitHub Copilot",
        ("api.githubcopilot.com",),
        "https://api.githubcopilot.com",
    ),
    ProviderInfo(
        "doubleword", "Doubleword", ("api.doubleword.ai",), "https://api.doubleword.ai/v1"
    ),
    # --- not priced by genai-prices: cost recorded as unknown ---------------------------------
    ProviderInfo(
        "github_models",
        "GitHub Models",
        ("models.github.ai", "models.inference.ai.azure.com"),
        "https://models.github.ai/inference",
    ),
    ProviderInfo(
        "deepinfra", "DeepInfra", ("api.deepinfra.com",), "https://api.deepinfra.com/v1/openai"
    ),
    ProviderInfo(
        "nvidia_nim",
        "NVIDIA NIM",
        ("integrate.api.nvidia.com",),
        "https://integrate.api.nvidia.com/v1",
    ),
    ProviderInfo(
        "hyperbolic", "Hyperbolic", ("api.hyperbolic.xyz",), "https://api.hyperbolic.xyz/v1"
    ),
    ProviderInfo("sambanova", "SambaNova", ("api.sambanova.ai",), "https://api.sambanova.ai/v1"),
    ProviderInfo(
        "nebius",
        "Nebius AI Studio",
        ("api.studio.nebius.ai", "api.studio.nebius.com", "api.tokenfactory.nebius.com"),
        "https://api.studio.nebius.com/v1/",
    ),
    ProviderInfo(
        "scaleway", "Scaleway Generative APIs", ("api.scaleway.ai",), "https://api.scaleway.ai/v1"
    ),
    ProviderInfo(
        "lambda",
        "Lambda Inference",
        ("api.lambda.ai", "api.lambdalabs.com"),
        "https://api.lambda.ai/v1",
    ),
    ProviderInfo(
        "anyscale",
        "Anyscale Endpoints",
        ("api.endpoints.anyscale.com",),
        "https://api.endpoints.anyscale.com/v1",
    ),
    ProviderInfo(
        "huggingface",
        "Hugging Face Inference Providers",
        ("router.huggingface.co", "api-inference.huggingface.co"),
        "https://router.huggingface.co/v1",
    ),
    ProviderInfo(
        "friendli", "FriendliAI", ("api.friendli.ai",), "https://api.friendli.ai/serverless/v1"
    ),
    ProviderInfo(
        "siliconflow",
        "SiliconFlow",
        ("api.siliconflow.cn", "api.siliconflow.com"),
        "https://api.siliconflow.cn/v1",
    ),
    ProviderInfo(
        "alibaba_dashscope",
        "Alibaba Cloud Model Studio (DashScope)",
        ("dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com"),
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    ),
    ProviderInfo("ai21", "AI21 Labs", ("api.ai21.com",), "https://api.ai21.com/studio/v1"),
    ProviderInfo("upstage", "Upstage", ("api.upstage.ai",), "https://api.upstage.ai/v1"),
    ProviderInfo(
        "meta_llama", "Meta Llama API", ("api.llama.com",), "https://api.llama.com/compat/v1/"
    ),
)

#: Loopback ports of well-known local servers (their default configuration).
LOCAL_PORTS: dict[int, tuple[str, str]] = {
    11434: ("ollama", "Ollama"),
    1234: ("lm_studio", "LM Studio"),
    8000: ("vllm", "vLLM (OpenAI-compatible server)"),
}
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal"})
#: Host labels that name a local server whatever the port (``ollama:11434`` in compose).
_HOST_LABELS = {"ollama": "ollama", "vllm": "vllm", "lmstudio": "lm_studio"}

_EXACT: dict[str, list[ProviderInfo]] = {}
_SUFFIXES: list[tuple[str, ProviderInfo]] = []
for _p in PROVIDERS:
    for _h in _p.hosts:
        if _h.startswith((".", "-")):
            _SUFFIXES.append((_h, _p))
        else:
            _EXACT.setdefault(_h, []).append(_p)


@dataclass(frozen=True, slots=True)
class DetectedProvider:
    """The result of :func:`detect_provider`."""

    #: ``gen_ai.provider.name``.
    name: str
    #: ``server.address`` (the host), ``None`` if the URL has none.
    host: str | None
    #: ``server.port`` when the URL names one or implies it by scheme.
    port: int | None
    #: False when the provider is not in :data:`PROVIDERS` (``name`` is then the host).
    known: bool


@functools.lru_cache(maxsize=256)
def detect_provider(base_url: str, default: str = "openai") -> DetectedProvider:
    """The provider behind ``base_url`` (an OpenAI/Anthropic client's ``base_url``).

    ``default`` is returned for an empty URL. Unknown hosts are recorded as the host
    itself, so the span says where the call went and the cost stays unknown.
    """
    text = str(base_url).strip()
    if not text:
        return DetectedProvider(default, None, None, True)
    parts = urlsplit(text if "://" in text else f"https://{text}")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme)
    path = parts.path or "/"
    for candidate in _EXACT.get(host, ()):
        if candidate.matches(host, path):
            return DetectedProvider(candidate.name, host, port, True)
    for suffix, candidate in _SUFFIXES:
        if host.endswith(suffix) and candidate.matches(host, path):
            return DetectedProvider(candidate.name, host, port, True)
    first_label = host.split(".", 1)[0]
    if first_label in _HOST_LABELS:
        return DetectedProvider(_HOST_LABELS[first_label], host, port, True)
    if host in _LOOPBACK and parts.port in LOCAL_PORTS:
        return DetectedProvider(LOCAL_PORTS[parts.port][0], host, port, True)
    return DetectedProvider(host or default, host or None, port, False)
