"""The adapter contract: what one SDK endpoint tells the shared wrapper.

An endpoint adapter is four pure functions (logfire's shape): read the request,
read a response, accumulate a stream, and rewrite the request (redaction, opt-in
options). The wrapper in :mod:`genops_native._call` does everything else, the
same way for every endpoint, sync or async, streamed or not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from genops import Usage
from genops import adapter as kit

Redact = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the wrapper needs to know before the call."""

    model: str | None
    max_output_tokens: int | None
    texts: tuple[str, ...]
    stream: bool
    #: ``gen_ai.input.messages`` when content capture is on (JSON-able), else ``None``.
    input_messages: Any = None
    #: Upper bound of the request's input tokens (``kit.input_token_bound``), reserved.
    input_bound: int | None = None


@dataclass(slots=True)
class Outcome:
    """What a response (or a finished stream) tells about the call."""

    usage: Usage | None = None
    model: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    #: ``gen_ai.output.messages`` (only recorded when content capture is on).
    output_messages: Any = None
    #: ``usage`` was (partly) counted locally (``genops.usage.estimated``).
    estimated: bool = False


class StreamState(Protocol):
    """Accumulates one stream's chunks/events; ``outcome()`` is read once at the end.

    ``outcome().usage`` is what the provider reported; where a stream ended before its
    final usage but the provider already reported part of it (Anthropic's
    ``message_start`` input tokens), the state completes it with what it saw (the output
    text so far, :func:`estimate_tokens`) and sets ``outcome().estimated``.
    """

    def record(self, chunk: Any) -> None: ...

    def outcome(self) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Site:
    """Where a call goes, for SDKs whose resource has no ``_client.base_url`` (Gemini's
    ``_api_client``) or whose own provider resolution knows more (LiteLLM)."""

    base_url: str | None = None
    #: The SDK's wire family (instead of the instrumentation's default provider).
    family: str | None = None
    #: The SDK's own provider name (LiteLLM's ``provider/model``), before a covering unit's.
    hint: str | None = None
    #: ``cloud.region`` (seen by the ``allowed_regions`` policy).
    region: str | None = None


class Endpoint(NamedTuple):
    """One SDK method the wrapper governs."""

    #: ``genops.operation.name`` (e.g. ``openai.chat.completions``).
    name: str
    #: ``gen_ai.operation.name`` (``chat`` / ``embeddings``).
    gen_ai_operation: str
    #: ``genops.operation.type`` (``inference`` / ``embedding``).
    operation_type: str
    read_request: Callable[[Mapping[str, Any]], RequestInfo]
    read_response: Callable[[Any], Outcome]
    #: ``None`` for endpoints that never stream.
    new_stream_state: Callable[[], StreamState] | None
    #: ``(kwargs, redact, options) -> kwargs``: returns a rewritten copy when needed.
    prepare: Callable[[dict[str, Any], Redact | None, Options], dict[str, Any]]
    #: ``(resource, kwargs) -> Site``; ``None``: the resource's ``_client.base_url``.
    site: Callable[[Any, Mapping[str, Any]], Site] | None = None


@dataclass(frozen=True, slots=True)
class Options:
    """Per-instrumentation options (see ``instrument_openai``)."""

    #: Add ``stream_options={"include_usage": True}`` to chat streams that did not set it
    #: (their usage-only final chunk is then hidden from the caller).
    include_usage: bool = True
    #: Force ``gen_ai.provider.name`` instead of detecting it from the base URL.
    provider: str | None = None


# --- small shared helpers for adapters ---------------------------------------------------


def given(value: Any) -> bool:
    """False for ``None`` and the SDKs' ``NOT_GIVEN`` / ``omit`` sentinels."""
    if value is None:
        return False
    return type(value).__name__ not in ("NotGiven", "Omit")


def estimate_tokens(texts: Sequence[str]) -> int:
    """A local token count of generated text (4 characters a token, rounded up)."""
    chars = sum(len(t) for t in texts)
    return -(-chars // 4)


#: Anthropic's tool-use system prompt in tokens, above the largest documented figure
#: (Claude 3 Opus: 530; Claude 4 and 3.7: 346), added to the bound when tools are sent.
ANTHROPIC_TOOL_PROMPT = 600
#: Per Anthropic server tool (bash, text editor, computer use: up to ~1,200 documented).
ANTHROPIC_SERVER_TOOL = 1500


def anthropic_tools_overhead(tools: Any) -> int:
    """Input tokens Anthropic adds for ``tools`` beyond their definitions (Messages API
    and Bedrock Claude): its tool-use system prompt and each server tool's prompt."""
    if not isinstance(tools, list | tuple) or not tools:
        return 0
    server = sum(1 for t in tools if field_of(t, "type") not in (None, "custom"))
    return ANTHROPIC_TOOL_PROMPT + ANTHROPIC_SERVER_TOOL * server


def input_bound(kwargs: Mapping[str, Any], names: Sequence[str], overhead: int = 0) -> int:
    """The input-token bound of a request from its fields ``names`` (given ones only)."""
    parts = [v for n in names if given(v := kwargs.get(n))]
    return kit.input_token_bound(*parts, overhead=overhead)


def int_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def field_of(obj: Any, name: str) -> Any:
    """``obj[name]`` for mappings, ``obj.name`` otherwise, ``None`` when absent."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def content_texts(content: Any) -> list[str]:
    """Every text of a message ``content`` or ``system`` value (all block types)."""
    return kit.payload_texts(content)


def redact_content(content: Any, redact: Redact) -> Any:
    """A copy of ``content`` with every text passed through ``redact``."""
    return kit.redact_payload(content, redact)


def redact_messages(messages: Any, redact: Redact) -> Any:
    """A copy of a ``messages`` / ``input`` list with every text redacted: content,
    tool calls and their arguments, tool results, every block type."""
    return kit.redact_payload(messages, redact)


def message_texts(messages: Any) -> list[str]:
    """All text of a ``messages`` list (for the token estimate and content policies)."""
    return kit.payload_texts(messages) if isinstance(messages, list | tuple) else []
