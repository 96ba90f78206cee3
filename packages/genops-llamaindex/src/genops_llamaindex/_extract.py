"""Small, isolated readers of LlamaIndex objects: span names, model, provider, usage."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import ChatMessage

from genops import Attribution
from genops import adapter as kit

#: ``llama_index.llms.<x>`` / ``llama_index.embeddings.<x>`` integration → ``gen_ai.provider.name``.
PROVIDERS: Mapping[str, str] = {  # other package names pass through (openai, anthropic, groq…)
    "openai_like": "openai", "azure_openai": "azure.ai.openai", "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock", "gemini": "gcp.gemini", "google_genai": "gcp.gemini",
    "vertex": "gcp.vertex_ai", "mistralai": "mistral_ai",
}  # fmt: skip
#: ``instrument_tags({"genops_customer_id": "acme"})`` keys carry attribution.
TAG_PREFIX = "genops_"
_UUID_SUFFIX = 37  # "-" + str(uuid4())


def span_name(id_: str) -> str:
    """``"OpenAI.chat-<uuid>"`` → ``"OpenAI.chat"`` (LlamaIndex's span id format)."""
    return id_[:-_UUID_SUFFIX] if len(id_) > _UUID_SUFFIX else id_


def method(id_: str) -> str:
    return span_name(id_).rpartition(".")[2]


def provider(instance: Any) -> str | None:
    """Provider from the integration package the LLM/embedding class lives in."""
    parts = type(instance).__module__.split(".")
    if len(parts) >= 3 and parts[0] == "llama_index" and parts[1] in ("llms", "embeddings"):
        return PROVIDERS.get(parts[2], parts[2])
    return None


def model(holder: Any) -> str | None:
    """``llm.metadata.model_name`` / ``embed_model.model_name`` (``"unknown"`` is none)."""
    name = getattr(holder, "model_name", None)
    return name if isinstance(name, str) and name and name != "unknown" else None


def max_tokens(instance: Any, bound_args: inspect.BoundArguments) -> int | None:
    value = bound_args.arguments.get("kwargs", {}).get("max_tokens")
    if value is None:
        value = getattr(instance, "max_tokens", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def texts(bound_args: inspect.BoundArguments) -> list[str]:
    """Every text the call sends, tool-call arguments included (the kit's walk): for the
    input-token estimate and content policies; never recorded."""
    sent = ("messages", "prompt", "query", "text", "texts")
    return kit.payload_texts([bound_args.arguments.get(k) for k in sent])


def messages(bound_args: inspect.BoundArguments) -> list[dict[str, Any]]:
    """Input messages in the GenAI shape (content capture only)."""
    args = bound_args.arguments
    if isinstance(args.get("prompt"), str):
        return [{"role": "user", "parts": [{"type": "text", "content": args["prompt"]}]}]
    return [
        {"role": str(m.role.value), "parts": [{"type": "text", "content": m.content or ""}]}
        for m in args.get("messages") or ()
        if isinstance(m, ChatMessage)
    ]


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def usage(response: Any) -> Any:
    """The provider usage object of a ChatResponse / CompletionResponse (``raw.usage``),
    else the token counts LlamaIndex puts in ``additional_kwargs``."""
    found = _field(getattr(response, "raw", None), "usage")
    if found is not None:
        return found
    extra = getattr(response, "additional_kwargs", None) or {}
    if isinstance(extra, Mapping) and "prompt_tokens" in extra:
        return {k: extra[k] for k in ("prompt_tokens", "completion_tokens") if k in extra}
    return None


def response_info(response: Any) -> tuple[str | None, str | None, list[str] | None]:
    """(response model, response id, finish reasons) from ``response.raw``."""
    raw = getattr(response, "raw", None)
    model, rid = _field(raw, "model"), _field(raw, "id")
    reasons = [str(r) for c in _field(raw, "choices") or () if (r := _field(c, "finish_reason"))]
    return (
        model if isinstance(model, str) else None,
        rid if isinstance(rid, str) else None,
        reasons or None,
    )


def attribution(tags: Mapping[str, Any] | None) -> Attribution | None:
    """Attribution from ``instrument_tags`` keys prefixed ``genops_`` (``None``: none)."""
    found = Attribution.from_mapping(tags or {}, prefix=TAG_PREFIX)
    return found if found.as_dict() else None
