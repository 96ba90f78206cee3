"""Load policy files (YAML), dicts or pydantic models into policies and an engine.

    engine = build_engine("genops-policy.yaml", ledger="sqlite:///ledger.db")
    config = load("genops-policy.yaml")        # PolicyConfig: policies + settings
    policy = build_policy({"name": "cap", "type": "max_cost_per_call", "limit": 0.5})

Everything is validated up front. The only exception raised for a bad document is
:class:`~genops.policy.errors.PolicyConfigError` (a ``ValueError``), whose message
names the file, the policy (index and name), the field and the allowed values.
The format is documented in ``docs/policies.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from genops.attributes import ENV_AUDIT_SINK
from genops.policy.base import Enforcement, Policy
from genops.policy.budget import BudgetPolicy, RateLimit
from genops.policy.engine import Engine
from genops.policy.errors import PolicyConfigError
from genops.policy.rules import (
    AllowedModels,
    AllowedRegions,
    ContentPolicy,
    MaxCostPerCall,
    MaxTokens,
)
from genops.policy.schema import (
    POLICY_TYPES,
    SPECS,
    AllowedModelsSpec,
    AllowedRegionsSpec,
    AllowedToolsSpec,
    BudgetSpec,
    ContentSpec,
    DefaultsSpec,
    EvaluationSpec,
    MaxCostPerCallSpec,
    MaxTokensSpec,
    PolicyFileSpec,
    RateLimitSpec,
    SlaSpec,
)
from genops.policy.slo import EvaluationPolicy, SlaPolicy
from genops.policy.tools import AllowedTools
from genops.policy.windows import Clock

if TYPE_CHECKING:
    from genops.audit import AuditLog

#: Largest policy file accepted (a policy file is configuration, not data).
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """A validated policy document: the built policies and the document's settings."""

    policies: tuple[Policy, ...]
    defaults: DefaultsSpec
    ledger: str | None
    audit_sink: str | None
    audit_sample_allowed: float
    source: str


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "literal[", "constrained-")) or part in {
            "list[constrained-str]",
            "str",
            "int",
            "float",
            "decimal",
        }:
            continue  # pydantic's union-branch labels, not fields
        else:
            out += f".{part}" if out else part
    return out


def _from_validation(
    exc: ValidationError, *, source: str, policy: str | None, prefix: str = ""
) -> PolicyConfigError:
    first = exc.errors(include_url=False)[0]
    field = _loc(tuple(first["loc"]))
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    msg = str(first["msg"])
    if first["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see docs/policies.md)"
    elif first["type"] == "missing":
        msg = "required field is missing"
    msg = msg.removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return PolicyConfigError(msg, source=source, policy=policy, field=field or None)


def _read(path: Path) -> Any:
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PolicyConfigError(f"file is larger than {MAX_FILE_BYTES} bytes", source=source)
        text = path.read_text(encoding="utf-8")
    except PolicyConfigError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyConfigError(f"cannot read the policy file: {exc}", source=source) from None
    return parse_yaml(text, source=source)


def parse_yaml(text: str, *, source: str = "<string>") -> Any:
    """Parse YAML text, turning every YAML error into :class:`PolicyConfigError`."""
    import yaml  # ~30 ms: only when a policy is written in YAML

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise PolicyConfigError(f"invalid YAML{where}: {problem}", source=source) from None
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise PolicyConfigError(f"invalid YAML: {exc}", source=source) from None


def load(
    document: str | Path | Mapping[str, Any] | PolicyFileSpec,
    *,
    source: str | None = None,
    on_unknown_price: str | None = None,
) -> PolicyConfig:
    """Validate a policy document (a file path, a dict or a :class:`PolicyFileSpec`).

    ``on_unknown_price`` (``genops.init(on_unknown_price=)``) replaces the document's
    ``defaults.on_unknown_price`` (a policy's own value still wins)."""
    if isinstance(document, (str, Path)):
        path = Path(document)
        src = source or str(path)
        if not path.is_file():
            raise PolicyConfigError("policy file not found", source=src)
        data = _read(path)
    elif isinstance(document, PolicyFileSpec):
        src = source or "<model>"
        data = document.model_dump(mode="python", exclude_none=True)
    else:
        src = source or "<dict>"
        data = document
    return load_data(data, source=src, on_unknown_price=on_unknown_price)


def load_data(
    data: Any, *, source: str = "<dict>", on_unknown_price: str | None = None
) -> PolicyConfig:
    """Validate already-parsed data (what ``yaml.safe_load`` returned)."""
    if data is None:
        raise PolicyConfigError(
            "the policy document is empty (expected 'version: 1')", source=source
        )
    if not isinstance(data, Mapping):
        raise PolicyConfigError(
            f"the policy document must be a mapping with 'version' and 'policies', "
            f"got {type(data).__name__}",
            source=source,
        )
    try:
        doc = PolicyFileSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise _from_validation(exc, source=source, policy=None) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise PolicyConfigError(str(exc), source=source) from None
    defaults = doc.defaults
    if on_unknown_price is not None:
        defaults = defaults.model_copy(update={"on_unknown_price": on_unknown_price})
    policies: list[Policy] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(doc.policies):
        policy = _build(item, index, defaults, source)
        if policy.name in seen:
            raise PolicyConfigError(
                f"duplicate policy name (first used by policies[{seen[policy.name]}])",
                source=source,
                policy=f"policies[{index}] {policy.name!r}",
                field="name",
            )
        seen[policy.name] = index
        policies.append(policy)
    return PolicyConfig(
        policies=tuple(policies),
        defaults=defaults,
        ledger=doc.ledger,
        audit_sink=doc.audit.sink if doc.audit else None,
        audit_sample_allowed=doc.audit.sample_allowed if doc.audit else 1.0,
        source=source,
    )


def _build(item: Any, index: int, defaults: DefaultsSpec, source: str) -> Policy:
    where = f"policies[{index}]"
    if not isinstance(item, Mapping):
        raise PolicyConfigError(
            f"each policy must be a mapping with 'name' and 'type', got {type(item).__name__}",
            source=source,
            policy=where,
        )
    name = item.get("name")
    if isinstance(name, str) and name:
        where = f"{where} {name!r}"
    kind = item.get("type")
    if "type" not in item:
        raise PolicyConfigError(
            f"required field is missing; one of: {', '.join(POLICY_TYPES)}",
            source=source, policy=where, field="type",
        )  # fmt: skip
    if not isinstance(kind, str) or kind not in SPECS:
        raise PolicyConfigError(
            f"unknown policy type {kind!r}; allowed: {', '.join(POLICY_TYPES)}",
            source=source, policy=where, field="type",
        )  # fmt: skip
    where = f"{where} ({kind})"
    try:
        spec = SPECS[kind].model_validate(dict(item))
    except ValidationError as exc:
        raise _from_validation(exc, source=source, policy=where) from None
    except (ValueError, TypeError) as exc:
        raise PolicyConfigError(str(exc), source=source, policy=where) from None
    try:
        return _construct(spec, defaults)
    except (ValueError, TypeError) as exc:
        raise PolicyConfigError(str(exc), source=source, policy=where) from None


def _construct(spec: BaseModel, d: DefaultsSpec) -> Policy:
    common: dict[str, Any] = {
        "enforcement": Enforcement.parse(getattr(spec, "enforcement", None) or d.enforcement),
        "scope": getattr(spec, "scope", None),
        "description": getattr(spec, "description", None),
    }
    name: str = getattr(spec, "name")  # noqa: B009 - every spec has one
    if isinstance(spec, AllowedModelsSpec):
        return AllowedModels(name, spec.models, **common)
    if isinstance(spec, AllowedRegionsSpec):
        return AllowedRegions(
            name, spec.regions, on_unknown_region=spec.on_unknown_region, **common
        )
    if isinstance(spec, AllowedToolsSpec):
        return AllowedTools(name, spec.tools, **common)
    if isinstance(spec, MaxCostPerCallSpec):
        return MaxCostPerCall(
            name, spec.limit, on_unknown_price=spec.on_unknown_price or d.on_unknown_price, **common
        )
    if isinstance(spec, MaxTokensSpec):
        return MaxTokens(name, spec.limit, input_limit=spec.input_limit, **common)
    if isinstance(spec, ContentSpec):
        return ContentPolicy(
            name, spec.detect, action=spec.action, replacement=spec.replacement, **common
        )
    if isinstance(spec, BudgetSpec):
        return BudgetPolicy(
            name,
            spec.limit,
            window=spec.window,
            unit=spec.unit,
            timezone=spec.timezone or d.timezone,
            alert_at=spec.alert_at,
            per=spec.per,
            on_unknown_price=spec.on_unknown_price or d.on_unknown_price,
            on_ledger_error=spec.on_ledger_error or d.on_ledger_error,
            **common,
        )
    if isinstance(spec, RateLimitSpec):
        return RateLimit(
            name,
            spec.requests,
            window=spec.window,
            per=spec.per,
            on_ledger_error=spec.on_ledger_error or d.on_ledger_error,
            **common,
        )
    if isinstance(spec, SlaSpec):
        common["enforcement"] = Enforcement.parse(spec.enforcement or "WARNING")
        return SlaPolicy(
            name,
            spec.tier,
            spec.latency_target_ms,
            percentile=spec.percentile,
            window=spec.window,
            min_samples=spec.min_samples,
            per=spec.per,
            **common,
        )
    if isinstance(spec, EvaluationSpec):
        return EvaluationPolicy(
            name,
            spec.metric,
            min_pass_rate=spec.min_pass_rate,
            min_score=spec.min_score,
            window=spec.window,
            min_samples=spec.min_samples,
            per=spec.per,
            **common,
        )
    raise TypeError(f"no builder for {type(spec).__name__}")  # pragma: no cover


def build_policy(spec: Mapping[str, Any], *, defaults: Mapping[str, Any] | None = None) -> Policy:
    """One policy from a dict in the file format (what ``register_policy(type=...)`` uses)."""
    try:
        d = DefaultsSpec.model_validate(dict(defaults or {}))
    except ValidationError as exc:
        raise _from_validation(
            exc, source="<register_policy>", policy=None, prefix="defaults"
        ) from None
    return _build(spec, 0, d, "<register_policy>")


def build_engine(
    policy: str | Path | Mapping[str, Any] | PolicyFileSpec,
    *,
    ledger: Any = "memory",
    clock: Clock | None = None,
    on_unknown_price: str | None = None,
) -> Engine:
    """The engine for ``genops.init(policy=..., ledger=...)``.

    ``ledger`` given to ``init`` wins over the document's ``ledger:`` unless it is the
    default ``"memory"``. The document's ``audit:`` section (else ``GENOPS_AUDIT_SINK``)
    creates the audit log.
    """
    config = load(policy, on_unknown_price=on_unknown_price)
    ledger_spec = ledger
    if (ledger is None or ledger == "memory") and config.ledger:
        ledger_spec = config.ledger
    try:
        audit = _audit_log(config.audit_sink, config.audit_sample_allowed)
    except ValueError as exc:
        raise PolicyConfigError(str(exc), source=config.source, field="audit.sink") from None
    try:
        engine = Engine(
            config.policies,
            attribution_enforcement=config.defaults.attribution_enforcement,
            ledger=ledger_spec,
            clock=clock,
            audit=audit,
            reservation_ttl=config.defaults.reservation_ttl,
            ledger_retry_after=config.defaults.ledger_retry_after,
        )
    except ValueError as exc:
        raise PolicyConfigError(str(exc), source=config.source, field="ledger") from None
    engine.policy_defaults = config.defaults.model_dump()
    return engine


def default_engine(ledger: Any = "memory", *, clock: Clock | None = None) -> Engine:
    """The engine for ``genops.init()`` without a policy document: no policies yet
    (``register_policy`` adds them), the given ledger, the audit sink from
    ``GENOPS_AUDIT_SINK`` if set."""
    return Engine(ledger=ledger, clock=clock, audit=_audit_log(None, 1.0))


def _audit_log(sink: str | None, sample_allowed: float) -> AuditLog | None:
    """The document's audit sink, else ``GENOPS_AUDIT_SINK``, else none."""
    from genops.audit import AuditLog

    url = sink or os.environ.get(ENV_AUDIT_SINK) or None
    return AuditLog(url, sample_allowed=sample_allowed) if url else None
