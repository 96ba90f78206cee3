"""The stateless policy types: models, regions, per-call cost cap, max tokens, content.

Each is a :class:`~genops.policy.base.Policy`: ``evaluate(request)`` returns the
decision it makes under BLOCKED enforcement, or ``None`` when the request is out
of its ``scope``; the engine applies the enforcement mode::

    AllowedModels("approved", ["gpt-4o-mini", "claude-*", "openai/gpt-4o"])
    ContentPolicy("no-pii", detect=["email", "credit_card"], action="redact")

Build them in code, with :func:`genops.register_policy` or from a policy file
(:mod:`genops.policy.loader`).
"""

from __future__ import annotations

import fnmatch
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from genops import attributes as A
from genops.decision import (
    X_COST_CAP_EXCEEDED,
    X_MAX_TOKENS_EXCEEDED,
    X_PRICE_UNKNOWN,
    DecisionResult,
    PolicyDecision,
    ReasonCode,
)
from genops.policy.base import Enforcement, UnitRequest

#: Request fields a ``scope`` (and a budget's ``per``) may select on.
SCOPE_FIELDS: Final = (
    *A.ATTRIBUTION_FIELDS,
    "model",
    "provider",
    "operation_name",
    "operation_type",
    "region",
)
_ATTRIBUTION = frozenset(A.ATTRIBUTION_FIELDS)

#: What a USD policy does with a unit whose price is unknown: ``warn`` (run, WARNING
#: ``x_price_unknown``, nothing counted), ``block`` (BLOCKED ``x_price_unknown``),
#: ``estimate`` (count it at an estimated price, :mod:`genops.price_estimate`; no
#: estimate → ``warn``). ``allow`` (run silently, nothing counted) is kept for older files.
ON_UNKNOWN_PRICE: Final = ("warn", "block", "estimate", "allow")


def request_field(request: UnitRequest, name: str) -> str | None:
    """The value of a scope field for ``request`` (attribution or request field)."""
    if name in _ATTRIBUTION:
        value: Any = getattr(request.attribution, name)
    else:
        value = getattr(request, name)
    return value if isinstance(value, str) else None


def _globs(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")


class Scope:
    """A selector on request fields: every field must match one of its globs.

    Scope({"environment": "production", "team": ["support", "sales-*"]})
    """

    def __init__(self, selector: Mapping[str, str | Sequence[str]] | None = None) -> None:
        self.selector: dict[str, tuple[str, ...]] = {}
        for key, value in (selector or {}).items():
            if key not in SCOPE_FIELDS:
                raise ValueError(f"unknown scope field {key!r}; allowed: {', '.join(SCOPE_FIELDS)}")
            values = (value,) if isinstance(value, str) else tuple(value)
            if not values or not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"scope field {key!r} needs a non-empty string or list of strings")
            self.selector[key] = values
        self._compiled = {k: _globs(v) for k, v in self.selector.items()}

    def matches(self, request: UnitRequest) -> bool:
        """True when the request is in scope (an empty scope matches everything)."""
        for key, pattern in self._compiled.items():
            value = request_field(request, key)
            if value is None or not pattern.fullmatch(value):
                return False
        return True


class _Rule(ABC):
    """Common fields; subclasses implement :meth:`check` for in-scope requests."""

    def __init__(
        self,
        name: str,
        *,
        enforcement: Enforcement | str = Enforcement.BLOCKED,
        scope: Mapping[str, str | Sequence[str]] | Scope | None = None,
        description: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a policy name must be a non-empty string")
        self.name = name
        self.enforcement = Enforcement.parse(enforcement)
        self.scope = scope if isinstance(scope, Scope) else Scope(scope)
        self.description = description
        #: built once: decisions are immutable
        self.allow = PolicyDecision.allowed(name)

    def evaluate(self, request: UnitRequest) -> PolicyDecision | None:
        if not self.scope.matches(request):
            return None
        return self.check(request)

    @abstractmethod
    def check(self, request: UnitRequest) -> PolicyDecision | None: ...

    def deny(
        self, code: str, reason: str, result: DecisionResult = DecisionResult.BLOCKED
    ) -> PolicyDecision:
        return PolicyDecision(result, code, self.name, reason)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, enforcement={self.enforcement.value})"


class AllowedModels(_Rule):
    """Only listed models may run (globs; ``provider/model`` pins a provider)."""

    def __init__(self, name: str, models: Sequence[str], **common: Any) -> None:
        super().__init__(name, **common)
        if (
            isinstance(models, str)
            or not models
            or not all(isinstance(m, str) and m for m in models)
        ):
            raise ValueError("models must be a non-empty list of model names or globs")
        self.models = tuple(models)
        self._bare = _globs(m for m in models if "/" not in m)
        self._qualified = _globs(m for m in models if "/" in m)

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        model = request.model
        if not model:
            return None
        if self._bare.fullmatch(model):
            return self.allow
        if request.provider and self._qualified.fullmatch(f"{request.provider}/{model}"):
            return self.allow
        who = f"{request.provider}/{model}" if request.provider else model
        return self.deny(
            ReasonCode.POLICY_DENY_MODEL,
            f"model {who} is not in the approved list {list(self.models)}",
        )


class AllowedRegions(_Rule):
    """Only listed regions (globs). ``on_unknown_region``: ``allow`` (default) or ``block``."""

    def __init__(
        self, name: str, regions: Sequence[str], *, on_unknown_region: str = "allow", **common: Any
    ) -> None:
        super().__init__(name, **common)
        if (
            isinstance(regions, str)
            or not regions
            or not all(isinstance(r, str) and r for r in regions)
        ):
            raise ValueError("regions must be a non-empty list of region names or globs")
        if on_unknown_region not in ("allow", "block"):
            raise ValueError("on_unknown_region must be 'allow' or 'block'")
        self.regions = tuple(regions)
        self.on_unknown_region = on_unknown_region
        self._pattern = _globs(regions)

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        region = request.region
        if region is None:
            if self.on_unknown_region == "block":
                return self.deny(ReasonCode.POLICY_DENY_REGION, "the request names no region")
            return None
        if self._pattern.fullmatch(region):
            return self.allow
        return self.deny(
            ReasonCode.POLICY_DENY_REGION, f"region {region} is not in {list(self.regions)}"
        )


def priced(request: UnitRequest, choice: str) -> Decimal | None:
    """The reservation bound a USD policy works with: the price's, else (``estimate``)
    the estimated price's, else ``None`` (unknown)."""
    cost = request.estimate.cost_usd
    if cost is None and choice == "estimate":
        return request.estimate.estimated_cost_usd
    return cost


def unknown_price(rule: _Rule, choice: str, what: str) -> PolicyDecision:
    """The decision for a unit whose price is unknown, per ``on_unknown_price``
    (``estimate`` without an estimate is ``warn``)."""
    reason = f"price of {what} is unknown"
    if choice == "estimate":
        choice, reason = "warn", f"{reason} and no estimate is available"
    if choice == "block":
        return rule.deny(X_PRICE_UNKNOWN, reason)
    if choice == "warn":
        return rule.deny(X_PRICE_UNKNOWN, reason, DecisionResult.WARNING)
    return PolicyDecision.allowed(rule.name, reason)


class MaxCostPerCall(_Rule):
    """Blocks a unit whose reservation (max possible cost) exceeds ``limit`` USD."""

    def __init__(
        self,
        name: str,
        limit: Decimal | float | str,
        *,
        on_unknown_price: str = "warn",
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        self.limit = Decimal(str(limit))
        if not self.limit.is_finite() or self.limit <= 0:
            raise ValueError("limit must be a positive number of USD")
        if on_unknown_price not in ON_UNKNOWN_PRICE:
            raise ValueError(f"on_unknown_price must be one of {', '.join(ON_UNKNOWN_PRICE)}")
        self.on_unknown_price = on_unknown_price

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        cost = priced(request, self.on_unknown_price)
        if not request.model:
            return None
        if cost is None:
            return unknown_price(self, self.on_unknown_price, f"model {request.model}")
        if cost > self.limit:
            return self.deny(
                X_COST_CAP_EXCEEDED,
                f"estimated max cost {cost:.6f} USD exceeds the per-call cap {self.limit} USD",
            )
        return self.allow


class MaxTokens(_Rule):
    """Caps requested output tokens (``limit``) and optionally input tokens (``input_limit``)."""

    def __init__(
        self, name: str, limit: int | None = None, *, input_limit: int | None = None, **common: Any
    ) -> None:
        super().__init__(name, **common)
        for field, value in (("limit", limit), ("input_limit", input_limit)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value <= 0
            ):
                raise ValueError(f"{field} must be a positive integer")
        if limit is None and input_limit is None:
            raise ValueError("max_tokens needs limit (output tokens) and/or input_limit")
        self.limit = limit
        self.input_limit = input_limit

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        est = request.estimate
        if self.limit is not None and est.max_output_tokens > self.limit:
            return self.deny(
                X_MAX_TOKENS_EXCEEDED,
                f"max output tokens {est.max_output_tokens} exceeds the limit {self.limit}",
            )
        if self.input_limit is not None and est.input_tokens > self.input_limit:
            return self.deny(
                X_MAX_TOKENS_EXCEEDED,
                f"input tokens {est.input_tokens} exceed the limit {self.input_limit}",
            )
        return self.allow


CONTENT_ACTIONS: Final = ("block", "redact", "warn")


class ContentPolicy(_Rule):
    """Detects sensitive content in ``UnitRequest.content``.

    ``action``: ``block`` → BLOCKED ``POLICY_DENY_CONTENT``; ``warn`` → WARNING with
    the same code; ``redact`` → the unit runs, :attr:`redactor` is handed to adapters
    (``Admission.redact``) to rewrite outgoing and recorded text, and the decision is
    WARNING ``POLICY_DENY_CONTENT`` when something was found (ALLOWED otherwise).
    """

    def __init__(
        self,
        name: str,
        detect: Sequence[str],
        *,
        action: str = "block",
        replacement: str = "[REDACTED:{name}]",
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        from genops.policy.detectors import DETECTORS, scan  # (loads with a content rule)

        self._scan = scan

        if isinstance(detect, str) or not detect:
            raise ValueError(f"detect must be a non-empty list of: {', '.join(DETECTORS)}")
        unknown = [d for d in detect if d not in DETECTORS]
        if unknown:
            raise ValueError(f"unknown detector(s) {unknown}; allowed: {', '.join(DETECTORS)}")
        if action not in CONTENT_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(CONTENT_ACTIONS)}")
        if not isinstance(replacement, str):
            raise ValueError("replacement must be a string")
        self.detect = tuple(dict.fromkeys(detect))
        self.action = action
        self.replacement = replacement

    def redactor(self) -> Callable[[str], str]:
        """The function that rewrites text (``action: redact``)."""
        from genops.policy.detectors import redact_text

        names, template = self.detect, self.replacement
        return lambda text: redact_text(text, names, template=template)

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        if not request.content:
            return self.allow if self.action == "redact" else None
        found: dict[str, int] = {}
        for text in request.content:
            for kind, count in self._scan(text, self.detect).items():
                found[kind] = found.get(kind, 0) + count
        if not found:
            return self.allow
        summary = ", ".join(f"{k}×{n}" for k, n in found.items())
        if self.action == "block":
            return self.deny(ReasonCode.POLICY_DENY_CONTENT, f"found {summary}")
        verb = "redacted" if self.action == "redact" else "found"
        return self.deny(
            ReasonCode.POLICY_DENY_CONTENT, f"{verb} {summary}", DecisionResult.WARNING
        )
