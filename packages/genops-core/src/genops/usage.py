"""Token usage, normalised to one meaning whatever the provider calls it.

Convention (the OpenTelemetry GenAI one): ``input_tokens`` **includes** cache-read and
cache-write tokens, ``output_tokens`` **includes** reasoning tokens. Providers that
report them separately (Anthropic, Bedrock, Gemini) are summed on the way in.

    >>> Usage.from_provider({"prompt_tokens": 12, "completion_tokens": 3}).total_tokens
    15
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

log = logging.getLogger("genops")

#: Most tokens one call may report (per count). Larger, negative or fractional counts
#: are not usage but a provider or proxy bug: the unit is recorded incomplete and
#: charged its reservation instead (see docs/reliability.md).
MAX_TOKENS: Final = 10**12

_warned: set[str] = set()


class _OutOfRange(ValueError):
    pass


def _get(obj: Any, *names: str) -> Any:
    """First present, non-None field among ``names`` on a mapping or an object."""
    for name in names:
        if isinstance(obj, Mapping):
            value = obj.get(name)
        else:
            value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _int(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if not 0 <= value <= MAX_TOKENS:
            raise _OutOfRange(f"token count {value} outside 0..{MAX_TOKENS}")
        return value
    return 0


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one provider call (see the module docstring for the convention)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __post_init__(self) -> None:
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            if not 0 <= value <= MAX_TOKENS:
                raise ValueError(f"{name} must be within 0..{MAX_TOKENS}, got {value}")

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )

    @classmethod
    def from_provider(cls, raw: Any) -> Usage | None:
        """Normalise a raw usage object or dict; ``None`` if it carries no token counts.

        Understands OpenAI Chat Completions and Responses, Anthropic Messages, LangChain
        ``usage_metadata``, Bedrock Converse and Gemini ``usageMetadata`` shapes.
        A negative or absurd count (beyond :data:`MAX_TOKENS`) gives ``None`` — the
        unit is then recorded incomplete — and is logged once per process.
        """
        if raw is None:
            return None
        if isinstance(raw, Usage):
            return raw
        try:
            return cls._parse(raw)
        except _OutOfRange as exc:
            if "range" not in _warned:
                _warned.add("range")
                log.warning("genops ignored provider usage (%s); units are flagged incomplete", exc)
            return None

    @classmethod
    def _parse(cls, raw: Any) -> Usage | None:
        # OpenAI Chat Completions: prompt/completion tokens, *_details.
        prompt = _get(raw, "prompt_tokens")
        if prompt is not None:
            pdet = _get(raw, "prompt_tokens_details")
            cdet = _get(raw, "completion_tokens_details")
            return cls(
                input_tokens=_int(prompt),
                output_tokens=_int(_get(raw, "completion_tokens")),
                cache_read_tokens=_int(_get(pdet, "cached_tokens")) if pdet is not None else 0,
                cache_write_tokens=_int(_get(pdet, "cache_write_tokens"))
                if pdet is not None
                else 0,
                reasoning_tokens=_int(_get(cdet, "reasoning_tokens")) if cdet is not None else 0,
            )
        # Gemini usageMetadata (candidates exclude thoughts; prompt includes cached content,
        # not the tool-use prompt — grounding results — which is billed as input too).
        gem_prompt = _get(raw, "promptTokenCount", "prompt_token_count")
        if gem_prompt is not None:
            thoughts = _int(_get(raw, "thoughtsTokenCount", "thoughts_token_count"))
            candidates = _int(_get(raw, "candidatesTokenCount", "candidates_token_count"))
            tool_use = _int(_get(raw, "toolUsePromptTokenCount", "tool_use_prompt_token_count"))
            return cls(
                input_tokens=_int(gem_prompt) + tool_use,
                output_tokens=candidates + thoughts,
                cache_read_tokens=_int(
                    _get(raw, "cachedContentTokenCount", "cached_content_token_count")
                ),
                reasoning_tokens=thoughts,
            )
        # Bedrock Converse: inputTokens exclude cache reads/writes.
        bedrock_in = _get(raw, "inputTokens")
        if bedrock_in is not None:
            cache_read = _int(_get(raw, "cacheReadInputTokens", "cacheReadInputTokenCount"))
            cache_write = _int(_get(raw, "cacheWriteInputTokens", "cacheWriteInputTokenCount"))
            return cls(
                input_tokens=_int(bedrock_in) + cache_read + cache_write,
                output_tokens=_int(_get(raw, "outputTokens")),
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
            )
        input_tokens = _get(raw, "input_tokens")
        output_tokens = _get(raw, "output_tokens")
        if input_tokens is None and output_tokens is None:
            return None
        # Anthropic Messages: input_tokens exclude cache_read/cache_creation tokens.
        anth_read = _get(raw, "cache_read_input_tokens")
        anth_write = _get(raw, "cache_creation_input_tokens")
        if anth_read is not None or anth_write is not None:
            read, write = _int(anth_read), _int(anth_write)
            return cls(
                input_tokens=_int(input_tokens) + read + write,
                output_tokens=_int(output_tokens),
                cache_read_tokens=read,
                cache_write_tokens=write,
            )
        # OpenAI Responses (input_tokens_details) and LangChain usage_metadata
        # (input_token_details), both already inclusive.
        idet = _get(raw, "input_tokens_details", "input_token_details")
        odet = _get(raw, "output_tokens_details", "output_token_details")
        cache_read = _int(_get(idet, "cached_tokens", "cache_read")) if idet is not None else 0
        cache_write = (
            _int(_get(idet, "cache_creation", "cache_write_tokens")) if idet is not None else 0
        )
        reasoning = _int(_get(odet, "reasoning_tokens", "reasoning")) if odet is not None else 0
        return cls(
            input_tokens=_int(input_tokens),
            output_tokens=_int(output_tokens),
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            reasoning_tokens=reasoning,
        )
