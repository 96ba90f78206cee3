"""genops governance for the OpenAI, Anthropic, AWS Bedrock, Google Gen AI and LiteLLM SDKs.

Every call through an instrumented client becomes one governed unit (GenOps spec
AWU, OpenTelemetry GenAI CLIENT span): attribution, policy *before* the request,
budget reservation, usage → cost from the response (or the stream's final chunk),
reconciliation. Zero-code with ``genops.init()`` (entry points ``openai``, ``anthropic``,
``bedrock``, ``gemini``, ``litellm``), or explicitly::

    import genops, genops_native
    from openai import OpenAI

    genops.init(service_name="support-bot", team="support")
    genops_native.instrument_openai()                        # every OpenAI client
    client = OpenAI(base_url="https://api.groq.com/openai/v1")   # priced as groq
    client.chat.completions.create(model="llama-3.3-70b-versatile", messages=[...])

    handle = genops_native.instrument_anthropic(my_client)   # only this client
    handle.uninstrument()
"""

from __future__ import annotations

from typing import Any

from genops_native._anthropic import MESSAGES, MESSAGES_STREAM, wrap_stream_method
from genops_native._bedrock import BedrockInstrumentation, hook_new_clients, instrument_client
from genops_native._endpoint import Options
from genops_native._openai import CHAT, EMBEDDINGS, RESPONSES
from genops_native._patch import Instrumentation, Target, instrument
from genops_native.providers import PROVIDERS, DetectedProvider, ProviderInfo, detect_provider

_OPENAI_CHAT = "openai.resources.chat.completions"
_OPENAI_RESPONSES = "openai.resources.responses"
_OPENAI_EMBEDDINGS = "openai.resources.embeddings"
_ANTHROPIC_MESSAGES = "anthropic.resources.messages"

OPENAI_TARGETS: tuple[Target, ...] = (
    Target(_OPENAI_CHAT, "Completions", "create", "chat.completions", CHAT, False),
    Target(_OPENAI_CHAT, "Completions", "parse", "chat.completions", CHAT, False),
    Target(_OPENAI_CHAT, "AsyncCompletions", "create", "chat.completions", CHAT, True),
    Target(_OPENAI_CHAT, "AsyncCompletions", "parse", "chat.completions", CHAT, True),
    Target(_OPENAI_RESPONSES, "Responses", "create", "responses", RESPONSES, False),
    Target(_OPENAI_RESPONSES, "Responses", "parse", "responses", RESPONSES, False),
    Target(_OPENAI_RESPONSES, "AsyncResponses", "create", "responses", RESPONSES, True),
    Target(_OPENAI_RESPONSES, "AsyncResponses", "parse", "responses", RESPONSES, True),
    Target(_OPENAI_EMBEDDINGS, "Embeddings", "create", "embeddings", EMBEDDINGS, False),
    Target(_OPENAI_EMBEDDINGS, "AsyncEmbeddings", "create", "embeddings", EMBEDDINGS, True),
)

ANTHROPIC_TARGETS: tuple[Target, ...] = (
    Target(_ANTHROPIC_MESSAGES, "Messages", "create", "messages", MESSAGES, False),
    Target(_ANTHROPIC_MESSAGES, "AsyncMessages", "create", "messages", MESSAGES, True),
    Target(
        _ANTHROPIC_MESSAGES, "Messages", "stream", "messages", MESSAGES_STREAM, False,
        wrap_stream_method,
    ),
    Target(
        _ANTHROPIC_MESSAGES, "AsyncMessages", "stream", "messages", MESSAGES_STREAM, True,
        wrap_stream_method,
    ),
)  # fmt: skip


def instrument_openai(
    client_or_class: Any = None,
    *,
    include_usage: bool = True,
    provider: str | None = None,
) -> Instrumentation:
    """Govern OpenAI SDK calls: ``chat.completions.create/parse``, ``responses.create/parse``,
    ``embeddings.create``, sync and async, streamed or not.

    - ``client_or_class=None``: every client (the SDK's resource classes are patched);
      ``openai.OpenAI`` / ``openai.AsyncOpenAI`` (or a subclass): every sync / async
      client; a client instance: only that client.
    - ``include_usage=True`` (default): chat streams that did not set ``stream_options``
      get ``{"include_usage": True}``, so their usage and cost are known; the extra
      usage-only final chunk is not shown to the caller (a ``chunk.choices[0]`` loop keeps
      working). ``False`` sends requests unchanged (usage then unknown: the reservation
      is charged, flagged incomplete).
    - ``provider``: force ``gen_ai.provider.name`` (default: detected from the base URL).

    Idempotent: instrumenting the same scope again returns the active handle.
    Raises ImportError when the ``openai`` package is not installed.
    """
    import openai

    return instrument(
        "openai",
        OPENAI_TARGETS,
        client_or_class,
        Options(include_usage=include_usage, provider=provider),
        default_provider="openai",
        client_base=openai.OpenAI,
        async_client_base=openai.AsyncOpenAI,
    )


def instrument_anthropic(
    client_or_class: Any = None, *, provider: str | None = None
) -> Instrumentation:
    """Govern Anthropic SDK calls: ``messages.create`` (incl. ``stream=True``) and
    ``messages.stream(...)``, sync and async. Same scopes and idempotency as
    :func:`instrument_openai`; Bedrock/Vertex clients are detected from their URL.
    """
    import anthropic
    from anthropic._base_client import AsyncAPIClient, SyncAPIClient

    del anthropic
    return instrument(
        "anthropic",
        ANTHROPIC_TARGETS,
        client_or_class,
        Options(provider=provider),
        default_provider="anthropic",
        client_base=SyncAPIClient,
        async_client_base=AsyncAPIClient,
    )


def instrument_bedrock(client: Any = None) -> BedrockInstrumentation:
    """Govern AWS Bedrock runtime calls (``converse``, ``converse_stream``, ``invoke_model``,
    ``invoke_model_with_response_stream``) through botocore's event system (aiobotocore too).

    ``client``: one ``boto3.client("bedrock-runtime")``; ``None``: every
    ``bedrock-runtime`` client created from now on (what ``genops.init()`` does)::

        handle = genops_native.instrument_bedrock(boto3.client("bedrock-runtime"))
        handle.uninstrument()
    """
    if client is None:
        return BedrockInstrumentation("new clients", hook_new_clients())
    return BedrockInstrumentation("client", instrument_client(client))


def instrument_gemini(
    client_or_class: Any = None, *, provider: str | None = None
) -> Instrumentation:
    """Govern Google Gen AI SDK calls (Gemini API and Vertex AI): ``models.generate_content``,
    ``generate_content_stream``, ``embed_content``, sync and ``client.aio``. Scopes as
    :func:`instrument_openai` (``genai.Client`` / ``genai.client.AsyncClient``); provider
    ``gcp.gemini`` / ``gcp.vertex_ai`` (``cloud.region`` = the location) or a gateway's host::

        genops_native.instrument_gemini()
        genai.Client(api_key=...).models.generate_content(model="gemini-2.5-flash", contents="hi")
    """
    from google.genai.client import AsyncClient, Client

    from genops_native._gemini import GEMINI, TARGETS

    return instrument(
        "gemini",
        TARGETS,
        client_or_class,
        Options(provider=provider),
        default_provider=GEMINI,
        client_base=Client,
        async_client_base=AsyncClient,
    )


def instrument_litellm(
    *, include_usage: bool = True, provider: str | None = None
) -> Instrumentation:
    """Govern ``litellm.completion`` / ``acompletion`` / ``embedding`` / ``aembedding``
    (streams and LiteLLM's Router included), called as ``litellm.completion(...)``. The
    provider is LiteLLM's own (``anthropic/…`` → ``anthropic``) unless ``api_base`` is a known
    or mapped host; the cost is genops' (genai-prices), not LiteLLM's::

        genops_native.instrument_litellm()
        litellm.completion(model="anthropic/claude-3-5-haiku-latest", messages=[...])
    """
    from genops_native import _litellm

    return _litellm.instrument(Options(include_usage=include_usage, provider=provider))


def _enable_litellm(runtime: Any) -> Instrumentation:
    """Entry point ``genops.integrations: litellm``; ``genops.init()`` calls it once the
    app imports LiteLLM (``genops.instrument_on_import``)."""
    from genops_native import _litellm

    return _litellm.instrument(Options())


def _enable_gemini(runtime: Any) -> Instrumentation:
    """Entry point ``genops.integrations: gemini`` (``genops.init()``)."""
    return instrument_gemini()


def _enable_bedrock(runtime: Any) -> BedrockInstrumentation:
    """Entry point ``genops.integrations: bedrock`` (``genops.init()``)."""
    return instrument_bedrock()


def _enable_openai(runtime: Any) -> Instrumentation:
    """Entry point ``genops.integrations: openai`` (``genops.init()``)."""
    return instrument_openai()


def _enable_anthropic(runtime: Any) -> Instrumentation:
    """Entry point ``genops.integrations: anthropic`` (``genops.init()``)."""
    return instrument_anthropic()


__all__ = [
    "ANTHROPIC_TARGETS",
    "OPENAI_TARGETS",
    "PROVIDERS",
    "BedrockInstrumentation",
    "DetectedProvider",
    "Instrumentation",
    "ProviderInfo",
    "detect_provider",
    "instrument_anthropic",
    "instrument_bedrock",
    "instrument_gemini",
    "instrument_litellm",
    "instrument_openai",
]
