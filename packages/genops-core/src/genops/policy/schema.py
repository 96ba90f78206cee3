"""Pydantic models of the policy file (version 1): validation only, no behaviour.

Documented in ``docs/policies.md``. Every model forbids unknown keys, so a typo
(``windw: monthly``) is an error, not a silently ignored line.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from genops.ledger.base import MAX_AMOUNT, NANOS
from genops.policy.budget import BUDGET_UNITS, ON_LEDGER_ERROR
from genops.policy.detectors import DETECTOR_NAMES
from genops.policy.rules import CONTENT_ACTIONS, ON_UNKNOWN_PRICE, SCOPE_FIELDS
from genops.policy.windows import Window, parse_duration, parse_timezone


def _enforcement(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError(f"must be a positive number, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"must be a positive number, got {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"must be a positive, finite number, got {value!r}")
    if amount > Decimal("1e15"):
        raise ValueError(f"must be at most 1e15, got {value!r}")
    return amount


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return value


def _duration(value: Any) -> float:
    return parse_duration(value)


def _choice(allowed: tuple[str, ...]) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}; got {value!r}")
        return value

    return BeforeValidator(check)


EnforcementName = Annotated[Literal["BLOCKED", "WARNING", "OFF"], BeforeValidator(_enforcement)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
Duration = Annotated[float, BeforeValidator(_duration)]
NonEmpty = Annotated[str, Field(min_length=1)]
Names = Annotated[list[NonEmpty], Field(min_length=1)]
OnUnknownPrice = Annotated[str, _choice(ON_UNKNOWN_PRICE)]
OnLedgerError = Annotated[str, _choice(ON_LEDGER_ERROR)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Common(_Strict):
    name: NonEmpty
    type: str
    enforcement: EnforcementName | None = None
    description: str | None = None
    scope: dict[str, NonEmpty | Names] | None = None

    @field_validator("scope")
    @classmethod
    def _scope_fields(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for key in value or {}:
            if key not in SCOPE_FIELDS:
                raise ValueError(f"unknown scope field {key!r}; allowed: {', '.join(SCOPE_FIELDS)}")
        return value


def _per(value: Any) -> Any:
    fields = [value] if isinstance(value, str) else value
    if not isinstance(fields, list) or not fields:
        raise ValueError(f"must be a field name or a non-empty list of: {', '.join(SCOPE_FIELDS)}")
    for f in fields:
        if not isinstance(f, str) or f not in SCOPE_FIELDS:
            raise ValueError(f"unknown per field {f!r}; allowed: {', '.join(SCOPE_FIELDS)}")
    if len(set(fields)) != len(fields):
        raise ValueError("per fields must not repeat")
    return fields


Per = Annotated[list[str], BeforeValidator(_per)]


class AllowedModelsSpec(_Common):
    type: Literal["allowed_models"]
    models: Names


class AllowedToolsSpec(_Common):
    type: Literal["allowed_tools"]
    tools: Names


class AllowedRegionsSpec(_Common):
    type: Literal["allowed_regions"]
    regions: Names
    on_unknown_region: Annotated[str, _choice(("allow", "block"))] = "allow"


class MaxCostPerCallSpec(_Common):
    type: Literal["max_cost_per_call"]
    limit: Amount
    on_unknown_price: OnUnknownPrice | None = None


class MaxTokensSpec(_Common):
    type: Literal["max_tokens"]
    limit: PositiveInt | None = None
    input_limit: PositiveInt | None = None


class ContentSpec(_Common):
    type: Literal["content"]
    detect: Annotated[list[Annotated[str, _choice(DETECTOR_NAMES)]], Field(min_length=1)]
    action: Annotated[str, _choice(CONTENT_ACTIONS)] = "block"
    replacement: str = "[REDACTED:{name}]"

    @field_validator("replacement")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format(name="x")
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ValueError(f"must be a template using only {{name}}: {exc}") from None
        return value


def _window(value: Any) -> str:
    Window.parse(value)  # raises ValueError with the allowed values
    return str(value)


def _tz(value: Any) -> str:
    parse_timezone(value)
    return str(value)


class BudgetSpec(_Common):
    type: Literal["budget"]
    limit: Amount
    unit: Annotated[str, _choice(BUDGET_UNITS)] = "USD"
    window: Annotated[str, BeforeValidator(_window)] = "monthly"
    per: Per | None = None
    alert_at: list[Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]] = []
    timezone: Annotated[str, BeforeValidator(_tz)] | None = None
    on_unknown_price: OnUnknownPrice | None = None
    on_ledger_error: OnLedgerError | None = None

    @model_validator(mode="after")
    def _whole_tokens(self) -> BudgetSpec:
        if self.unit == "tokens" and self.limit != self.limit.to_integral_value():
            raise ValueError("a tokens budget needs a whole-number limit")
        # Ledgers count in whole nano-dollars (tokens) up to MAX_AMOUNT, exact on every
        # backend: a larger limit would be clamped, so its remaining amounts would be wrong.
        scale = NANOS if self.unit == "USD" else 1
        if self.limit * scale > MAX_AMOUNT:
            largest = Decimal(MAX_AMOUNT) / scale
            raise ValueError(
                f"limit {self.limit} {self.unit} is above the largest budget the ledgers hold"
                f" exactly ({largest:f} {self.unit})"
            )
        return self


def _rate_window(value: Any) -> float:
    if isinstance(value, str) and value.strip().lower().startswith("rolling:"):
        value = value.strip()[len("rolling:") :]
    return parse_duration(value)


class RateLimitSpec(_Common):
    type: Literal["rate_limit"]
    requests: PositiveInt
    window: Annotated[float, BeforeValidator(_rate_window)] = 60.0
    per: Per | None = None
    on_ledger_error: OnLedgerError | None = None


class SlaSpec(_Common):
    """``enforcement`` defaults to WARNING here (not ``defaults.enforcement``)."""

    type: Literal["sla"]
    tier: NonEmpty
    latency_target_ms: PositiveInt
    percentile: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 95.0
    window: Duration = 300.0
    min_samples: PositiveInt = 20
    per: Per | None = None


class EvaluationSpec(_Common):
    type: Literal["evaluation"]
    metric: NonEmpty
    min_pass_rate: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None
    min_score: Annotated[float, Field(allow_inf_nan=False)] | None = None
    window: Duration = 3600.0
    min_samples: PositiveInt = 20
    per: Per | None = None

    @model_validator(mode="after")
    def _one_minimum(self) -> EvaluationSpec:
        if (self.min_pass_rate is None) == (self.min_score is None):
            raise ValueError("needs exactly one of min_pass_rate, min_score")
        return self


SPECS: dict[str, type[_Common]] = {
    "allowed_models": AllowedModelsSpec,
    "allowed_regions": AllowedRegionsSpec,
    "allowed_tools": AllowedToolsSpec,
    "budget": BudgetSpec,
    "content": ContentSpec,
    "max_cost_per_call": MaxCostPerCallSpec,
    "max_tokens": MaxTokensSpec,
    "rate_limit": RateLimitSpec,
    "sla": SlaSpec,
    "evaluation": EvaluationSpec,
}
POLICY_TYPES = tuple(SPECS)


class DefaultsSpec(_Strict):
    enforcement: EnforcementName = "BLOCKED"
    attribution_enforcement: EnforcementName = "WARNING"
    timezone: Annotated[str, BeforeValidator(_tz)] = "UTC"
    on_unknown_price: OnUnknownPrice = "warn"
    on_ledger_error: OnLedgerError = "fail_open"
    reservation_ttl: Duration = 600.0
    ledger_retry_after: Duration = 5.0


class AuditSpec(_Strict):
    sink: NonEmpty
    sample_allowed: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 1.0

    @field_validator("sink")
    @classmethod
    def _sink(cls, value: str) -> str:
        if not value.startswith(("jsonl:///", "sqlite:///")) and not value.endswith(
            (".jsonl", ".db", ".sqlite", ".sqlite3")
        ):
            raise ValueError("must be 'jsonl:///path' or 'sqlite:///path'")
        return value


class PolicyFileSpec(_Strict):
    """The whole document. ``policies`` items are validated one by one by the loader."""

    version: Literal[1]
    defaults: DefaultsSpec = DefaultsSpec()
    ledger: NonEmpty | None = None
    audit: AuditSpec | None = None
    policies: list[Any] = []
