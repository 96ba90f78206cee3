"""What a caller knows about a call before making it: the input to reservation and policy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from genops.usage import MAX_TOKENS


@dataclass(frozen=True, slots=True)
class RequestEstimate:
    """What the caller knows before the call, for the reservation and content policies.

    ``input_tokens`` defaults to an estimate from ``texts`` (4 characters a token);
    ``max_output_tokens`` defaults to the runtime's ``default_max_output_tokens``.
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
        if self.input_tokens is not None:
            return self.input_tokens
        chars = sum(len(t) for t in self.texts)
        return math.ceil(chars / 4) + 4 * len(self.texts)
