"""What a Haystack component is, read from its class and init parameters, and what it
reported in its outputs (``meta[...]["usage"]`` / ``meta[...]["model"]``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from genops import attributes as A
from genops.adapter import payload_texts

#: Class-name prefixes → ``gen_ai.provider.name`` (longest match first).
PROVIDERS: dict[str, str] = {
    "AzureOpenAI": "azure.ai.openai",
    "OpenAI": "openai",
    "Anthropic": "anthropic",
    "Cohere": "cohere",
    "Mistral": "mistral_ai",
    "Ollama": "ollama",
    "AmazonBedrock": "aws.bedrock",
    "GoogleGenAI": "gcp.gen_ai",
    "HuggingFaceAPI": "huggingface",
}
_MAX_TOKEN_KEYS = ("max_completion_tokens", "max_tokens", "max_output_tokens")
#: Frames Haystack's tracer call passes through before reaching the component's caller.
_SKIP = ("contextlib", "haystack/tracing", "haystack\\tracing", "genops_haystack")


def operation(type_name: str) -> str | None:
    """``gen_ai.operation.name`` of a component class: chat / text_completion / embeddings."""
    if type_name.endswith("ChatGenerator"):
        return A.OP_CHAT
    if type_name.endswith("Generator"):
        return A.OP_TEXT_COMPLETION
    if type_name.endswith("Embedder"):
        return A.OP_EMBEDDINGS
    return None


def provider(type_name: str) -> str | None:
    """Provider of a component class from its name (``OpenAIChatGenerator`` → openai)."""
    for prefix in sorted(PROVIDERS, key=len, reverse=True):
        if type_name.startswith(prefix):
            return PROVIDERS[prefix]
    return None


def calling_component(expected: str | None) -> Any:
    """The component instance Haystack is about to run, read from the frame that opened
    the span (``instance`` in ``Pipeline._run_component``, ``chat_generator`` in
    ``_trace_chat_generator_run``, ``self.chat_generator`` in an Agent step).

    Haystack's tracer API names the component but does not pass it; its init
    parameters (the model) are needed *before* the call for policy. ``None`` when
    not found (the model then comes from the outputs).
    """
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
    for name in ("model", "azure_deployment", "model_name"):
        value = getattr(instance, name, None)
        if isinstance(value, str) and value:
            return value
    return None


def max_tokens_of(instance: Any, inputs: Mapping[str, Any] | None) -> int | None:
    """Max output tokens from run-time, else init ``generation_kwargs``."""
    for kwargs in (
        (inputs or {}).get("generation_kwargs"),
        getattr(instance, "generation_kwargs", None),
    ):
        if isinstance(kwargs, Mapping):
            for key in _MAX_TOKEN_KEYS:
                value = kwargs.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    return value
    return None


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
