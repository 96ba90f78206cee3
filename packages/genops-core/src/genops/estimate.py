"""What a caller knows about a call before making it: the input to reservation and policy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from genops.usage import MAX_TOKENS


@dataclass(frozen=True, slots=True)
class RequestEstimate:
    """What the caller knows before the call, for the reservation and content policies.

    ``input_tokens`` defaults to an upper bound from ``texts`` (their UTF-8 bytes plus
    :data:`PER_TEXT_TOKENS` each: a token of a byte-level BPE tokenizer is at least one
    byte); adapters that see the whole request pass
    ``input_tokens=genops.adapter.input_token_bound(...)`` instead, which also counts
    roles, tool definitions and schemas. ``max_output_tokens`` defaults to the runtime's
    ``default_max_output_tokens``. See docs/reliability.md ("The reservation bound").

        genops.RequestEstimate(texts=["héllo"]).input_token_estimate()   # 6 bytes + 4 = 10
    """

    input_tokens: int | None = None
    max_output_tokens: int | None = None
    texts: Sequence[str] = ()

    def __post_init__(self) -> None:
        for name in ("input_tokens", "max_output_tokens"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(
                    f"RequestEstimate.{name} must be an int >= 0 or None, got {value!r}"
                )
            if value is not None and value > MAX_TOKENS:  # bounded at the edge
                object.__setattr__(self, name, MAX_TOKENS)
        if isinstance(self.texts, str):
            object.__setattr__(self, "texts", (self.texts,))

    def input_token_estimate(self) -> int:
        """The input tokens to reserve: ``input_tokens``, else the bound from ``texts``."""
        if self.input_tokens is not None:
            return self.input_tokens
        total = sum(utf8_len(t) for t in self.texts) + PER_TEXT_TOKENS * len(self.texts)
        return min(total, MAX_TOKENS)

    def typical_input_tokens(self) -> int:
        """A typical count (4 characters a token) for charging a call whose provider
        reported no usage (recorded as ``genops.usage.estimated``), not for reserving."""
        if self.input_tokens is not None:
            return self.input_tokens
        chars = sum(len(t) for t in self.texts)
        return math.ceil(chars / 4) + 4 * len(self.texts)


#: Tokens allowed per text on top of its bytes (a message's role and delimiters).
PER_TEXT_TOKENS = 4


def utf8_len(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (lone surrogates count 3, as CESU would encode them)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
