"""Small, isolated readers of LangChain callback arguments.

Each function reads one thing (provider, model, max tokens, usage, response
metadata, attribution) without serialising anything; callers guard each call so
one odd value loses only its own attribute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from genops import Attribution
from genops import adapter as kit
from genops.providers import PROVIDER_ALIASES, normalize_provider

#: Prefix of the LangChain ``metadata`` keys (and ``tags``) the handler reads attribution
#: from: ``genops_team``, ``genops_project``, ``genops_environment``, ``genops_customer_id``,
#: ``genops_feature``, ``genops_cost_center``, ``genops_session_id``.
METADATA_PREFIX = "genops_"
#: Metadata key that marks a runnable as an agent (value: the agent's name).
AGENT_METADATA_KEY = "genops_agent"
#: Set by ``langchain.agents.create_agent(..., name=...)`` on every run of the agent.
LC_AGENT_METADATA_KEY = "lc_agent_name"

#: LangChain ``ls_provider`` values → OpenTelemetry ``gen_ai.provider.name`` values
#: (core's table, :data:`genops.providers.PROVIDER_ALIASES`).
PROVIDERS: Mapping[str, str] = PROVIDER_ALIASES

_MODEL_PARAMS = (*kit.MODEL_KEYS, "_type")


def provider(metadata: Mapping[str, Any] | None) -> str | None:
    """Semconv provider name from ``ls_provider`` (unknown values pass through)."""
    if not metadata:
        return None
    value = metadata.get("ls_provider")
    return normalize_provider(value) if isinstance(value, str) else None


def base_url(serialized: Mapping[str, Any] | None) -> str | None:
    """The endpoint a chat model was constructed with (``base_url=``…), if serialized."""
    kwargs = serialized.get("kwargs") if serialized else None
    return kit.first_text(kwargs, keys=kit.ENDPOINT_KEYS) if isinstance(kwargs, Mapping) else None


def model(metadata: Mapping[str, Any] | None, params: Mapping[str, Any] | None) -> str | None:
    """The requested model: ``ls_model_name``, else the invocation params.

    Falls back to the model class's ``_type`` (e.g. ``"openai-chat"``) so a run
    always has a model name; its price is then unknown, never zero.
    """
    return kit.first_text(metadata, keys=("ls_model_name",)) or kit.first_text(
        params, keys=_MODEL_PARAMS
    )


def max_tokens(metadata: Mapping[str, Any] | None, params: Mapping[str, Any] | None) -> int | None:
    """The request's output-token cap, when the model declares one."""
    found = kit.first_count(metadata, keys=("ls_max_tokens",))
    return found if found is not None else kit.first_count(params, keys=kit.MAX_OUTPUT_TOKEN_KEYS)


def input_bound(
    messages: Sequence[Any], prompts: Sequence[str] | None, params: Mapping[str, Any] | None
) -> int:
    """The reservation's input bound: the messages (or prompts) and bound tools."""
    tools = params.get("tools") if params else None
    return kit.input_token_bound(list(prompts) if prompts is not None else messages, tools)


def message_texts(messages: Sequence[Any]) -> list[str]:
    """Every text the chat messages send: content blocks of every type, tool calls and
    their arguments, tool results (the kit's structural walk)."""
    texts: list[str] = []
    for message in messages:
        texts += kit.payload_texts(getattr(message, "content", None))
        texts += kit.payload_texts(getattr(message, "tool_calls", None))
    return texts


def attribution(
    metadata: Mapping[str, Any] | None, tags: Sequence[str] | None
) -> Attribution | None:
    """Attribution from run metadata (``genops_team`` …) and tags (``genops_team:support``).

    Metadata wins over tags. ``None`` when the run carries none.
    """
    return kit.attribution_from(metadata, tags=tags, prefix=METADATA_PREFIX)


def agent_name(metadata: Mapping[str, Any] | None, run_name: str) -> str | None:
    """The agent name a chain run declares: ``metadata={"genops_agent": ...}``, or the
    ``lc_agent_name`` LangChain's ``create_agent(..., name=...)`` puts on its runs."""
    if metadata and metadata.get(AGENT_METADATA_KEY) is True:
        return run_name
    # genops_agent="name", else langchain.agents.create_agent(name=...)
    return kit.first_text(metadata, keys=(AGENT_METADATA_KEY, LC_AGENT_METADATA_KEY))


def run_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    """The run's name: ``run_name``/``get_name()`` LangChain passes, else the serialized id."""
    name = kit.first_text(kwargs, serialized, keys=("name",))
    if name:
        return name
    ident = serialized.get("id") if serialized else None
    if isinstance(ident, list) and ident and isinstance(ident[-1], str):
        return ident[-1]
    return default


def first_generation(response: Any) -> Any:
    """The first generation of an ``LLMResult``, or ``None``."""
    generations = getattr(response, "generations", None)
    if generations and generations[0]:
        return generations[0][0]
    return None


def usage(response: Any, generation: Any) -> Any:
    """Raw usage: the message's ``usage_metadata``, else ``llm_output`` token usage."""
    message = getattr(generation, "message", None)
    raw = getattr(message, "usage_metadata", None)
    if raw:
        return raw
    llm_output = getattr(response, "llm_output", None)
    if isinstance(llm_output, Mapping):
        for key in ("token_usage", "usage"):
            value = llm_output.get(key)
            if value:
                return value
    return None


def response_info(response: Any, generation: Any) -> tuple[str | None, str | None, list[str]]:
    """(response model, response id, finish reasons) from the generation and ``llm_output``."""
    message = getattr(generation, "message", None)
    meta = getattr(message, "response_metadata", None)
    info = getattr(generation, "generation_info", None)
    llm_output = getattr(response, "llm_output", None)
    sources = [m for m in (meta, info, llm_output) if isinstance(m, Mapping)]
    response_model = kit.first_text(*sources, keys=("model_name", "model"))
    response_id = kit.first_text(*sources, keys=("id",))
    reason = kit.first_text(*sources, keys=("finish_reason", "stop_reason"))
    finish = [reason] if reason else []
    if response_id is None:
        value = getattr(message, "id", None)
        # LangChain invents "run-…"/"lc_run-…" ids when the provider gave none.
        if isinstance(value, str) and value and not value.startswith(("run-", "lc_run-")):
            response_id = value
    return response_model, response_id, finish


def input_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """Chat messages as semconv-style dicts (content capture only)."""
    return [
        {"role": getattr(m, "type", "unknown"), "content": getattr(m, "content", "")}
        for m in messages
    ]


def output_messages(response: Any) -> list[dict[str, Any]]:
    """Generated messages as semconv-style dicts (content capture only)."""
    out: list[dict[str, Any]] = []
    for generations in getattr(response, "generations", None) or ():
        for generation in generations:
            message = getattr(generation, "message", None)
            if message is None:
                out.append({"role": "assistant", "content": getattr(generation, "text", "")})
                continue
            item: dict[str, Any] = {"role": "assistant", "content": message.content}
            tool_calls = getattr(message, "tool_calls", None)
            if tool_calls:
                item["tool_calls"] = [dict(tc) for tc in tool_calls]
            out.append(item)
    return out
