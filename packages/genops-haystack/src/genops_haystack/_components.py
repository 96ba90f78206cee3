"""What a Haystack component is, read from its class and init parameters, and what it
reported in its outputs (``meta[...]["usage"]`` / ``meta[...]["model"]``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from genops import adapter as kit
from genops import attributes as A
from genops.adapter import payload_texts

#: Class-name prefixes → ``gen_ai.provider.name`` (longest match first).
PROVIDERS: dict[str, str] = {
    "AzureOpenAI": "azure.ai.openai", "OpenAI": "openai", "Anthropic": "anthropic",
    "Cohere": "cohere", "Mistral": "mistral_ai", "Ollama": "ollama",
    "AmazonBedrock": "aws.bedrock", "GoogleGenAI": "gcp.gen_ai", "HuggingFaceAPI": "huggingface",
}  # fmt: skip
_OPERATIONS = (("ChatGenerator", A.OP_CHAT), ("Generator", A.OP_TEXT_COMPLETION),
               ("Embedder", A.OP_EMBEDDINGS))  # fmt: skip
#: Frames Haystack's tracer call passes through before reaching the component's caller.
_SKIP = ("contextlib", "haystack/tracing", "haystack\\tracing", "genops_haystack")


def operation(type_name: str) -> str | None:
    """``gen_ai.operation.name`` of a component class: chat / text_completion / embeddings."""
    return next((op for end, op in _OPERATIONS if type_name.endswith(end)), None)


def provider(type_name: str) -> str | None:
    """Provider hint of a component class from its name (``OpenAIChatGenerator`` → openai)."""
    prefixes = sorted(PROVIDERS, key=len, reverse=True)  # PROVIDERS may be extended
    return next((PROVIDERS[p] for p in prefixes if type_name.startswith(p)), None)


def base_url(instance: Any) -> str | None:
    """The endpoint an instance calls: its SDK client's base URL, else its init URL."""
    client = getattr(instance, "client", None) or getattr(instance, "async_client", None)
    url = getattr(client, "base_url", None)
    return str(url) if url is not None else attr_str(instance, "api_base_url", "azure_endpoint")


def calling_component(expected: str | None) -> Any:
    """The component instance Haystack is about to run (its model is needed *before*
    the call, and the tracer API passes only its name): ``instance`` in
    ``Pipeline._run_component``, ``chat_generator`` / ``self.chat_generator`` in Agent
    steps, read from the frame that opened the span. ``None`` when not found."""
    frame = sys._getframe(1)
    for _ in range(12):
        frame = frame.f_back  # type: ignore[assignment]
        if frame is None:
            return None
        if any(s in frame.f_code.co_filename for s in _SKIP):
            continue
        local = frame.f_locals
        for candidate in (
            local.get("instance"),
            local.get("chat_generator"),
            getattr(local.get("self"), "chat_generator", None),
        ):
            if candidate is not None and (expected is None or type(candidate).__name__ == expected):
                return candidate
        return None
    return None


def model_of(instance: Any) -> str | None:
    """The model an instance was configured with."""
    return attr_str(instance, "model", "azure_deployment", "model_name")


def attr_str(instance: Any, *names: str) -> str | None:
    """The first non-empty string attribute of ``instance`` among ``names``."""
    values = (getattr(instance, name, None) for name in names)
    return next((v for v in values if isinstance(v, str) and v), None)


def max_tokens_of(instance: Any, inputs: Mapping[str, Any] | None) -> int | None:
    """Max output tokens from run-time, else init ``generation_kwargs``."""
    runtime = (inputs or {}).get("generation_kwargs")
    return kit.first_count(
        runtime, getattr(instance, "generation_kwargs", None), keys=kit.MAX_OUTPUT_TOKEN_KEYS
    )


def texts(inputs: Mapping[str, Any] | None) -> list[str]:
    """The texts a generator/embedder is about to send: prompt / text strings, every
    text of the messages (tool calls and results too), documents' content."""
    inputs = inputs or {}
    out = [v for k in ("prompt", "text", "system_prompt") if isinstance(v := inputs.get(k), str)]
    for item in inputs.get("messages") or ():
        out += payload_texts(content_of(item))
    docs = (getattr(d, "content", None) for d in inputs.get("documents") or ())
    return out + [c for c in docs if isinstance(c, str)]


def content_of(message: Any) -> Any:
    """A ``ChatMessage``'s content parts as plain data (text, tool calls, results)."""
    to_dict = getattr(message, "to_dict", None)
    return to_dict().get("content") if callable(to_dict) else message


def streams(instance: Any, inputs: Mapping[str, Any] | None) -> bool:
    """True when the run streams (a streaming callback at run time or from init)."""
    cb = (inputs or {}).get("streaming_callback") or getattr(instance, "streaming_callback", None)
    return cb is not None


def reported(outputs: Any) -> tuple[Any, str | None, list[str]]:
    """(usage, model, finish reasons) from a generator / embedder output."""
    if not isinstance(outputs, Mapping):
        return None, None, []
    metas: list[Any] = []
    meta = outputs.get("meta")
    if isinstance(meta, Mapping):
        metas.append(meta)
    elif isinstance(meta, list):
        metas.extend(m for m in meta if isinstance(m, Mapping))
    for reply in outputs.get("replies") or ():
        m = getattr(reply, "meta", None)
        if isinstance(m, Mapping):
            metas.append(m)
    usage: Any = None
    model: str | None = None
    finish: list[str] = []
    for m in metas:
        if usage is None and isinstance(m.get("usage"), Mapping):
            usage = m["usage"]
        if model is None and isinstance(m.get("model"), str):
            model = m["model"]
        reason = m.get("finish_reason")
        if isinstance(reason, str):
            finish.append(reason)
    return usage, model, finish
