"""The local spend store's schema: one row per AI Workload Unit, indexed for reports.

Table ``units`` (documented in docs/local-store.md):

=================  =======  ====================================================
column             type     meaning
=================  =======  ====================================================
ts                 REAL     unit end, Unix seconds (UTC)
start_ts           REAL     unit start, Unix seconds (UTC)
trace_id, span_id  TEXT     the unit span's ids (hex); unique together
service            TEXT     ``service.name`` of the resource
environment        TEXT     ``genops.environment``
team, project      TEXT     attribution (``unattributed`` when missing)
customer_id        TEXT     attribution, may be NULL
feature            TEXT     attribution, may be NULL
cost_center        TEXT     attribution, may be NULL
operation          TEXT     ``genops.operation.name``
role               TEXT     ``call`` (cost-bearing provider call) or ``rollup``
provider, model    TEXT     ``gen_ai.provider.name``, ``gen_ai.request.model``
input_tokens ...   INTEGER  input, output, cache_read, cache_write, reasoning
cost               REAL     ``genops.cost.total`` (0 when blocked or unknown)
currency           TEXT     ``genops.cost.currency``
cost_unknown       INTEGER  1 when no price was known (cost is not $0 then)
incomplete         INTEGER  1 when reconciliation lacked measured usage
decision           TEXT     ``genops.policy.result``
reason_code        TEXT     ``genops.policy.reason_code`` (NULL on ALLOWED)
policy             TEXT     ``genops.policy.name`` of the deciding policy
error_type         TEXT     ``error.type`` when the call failed
=================  =======  ====================================================

Indexes: ``ts``, ``(team, ts)``, ``(project, ts)``, ``(model, ts)`` — every report is a
time range, optionally narrowed by team, project or model.
"""

from __future__ import annotations

from typing import Any, Final

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from genops import attributes as A

SCHEMA_VERSION: Final = 1

COLUMNS: Final = (
    "ts",
    "start_ts",
    "trace_id",
    "span_id",
    "service",
    "environment",
    "team",
    "project",
    "customer_id",
    "feature",
    "cost_center",
    "operation",
    "role",
    "provider",
    "model",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "currency",
    "cost_unknown",
    "incomplete",
    "decision",
    "reason_code",
    "policy",
    "error_type",
)

DDL: Final = (
    """CREATE TABLE IF NOT EXISTS units (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL, start_ts REAL NOT NULL,
        trace_id TEXT NOT NULL, span_id TEXT NOT NULL,
        service TEXT, environment TEXT,
        team TEXT NOT NULL, project TEXT NOT NULL,
        customer_id TEXT, feature TEXT, cost_center TEXT,
        operation TEXT, role TEXT NOT NULL,
        provider TEXT, model TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0, cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        cost REAL NOT NULL DEFAULT 0, currency TEXT,
        cost_unknown INTEGER NOT NULL DEFAULT 0, incomplete INTEGER NOT NULL DEFAULT 0,
        decision TEXT, reason_code TEXT, policy TEXT, error_type TEXT,
        UNIQUE (trace_id, span_id)
    )""",
    "CREATE INDEX IF NOT EXISTS units_ts ON units (ts)",
    "CREATE INDEX IF NOT EXISTS units_team_ts ON units (team, ts)",
    "CREATE INDEX IF NOT EXISTS units_project_ts ON units (project, ts)",
    "CREATE INDEX IF NOT EXISTS units_model_ts ON units (model, ts)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

INSERT: Final = (
    f"INSERT OR IGNORE INTO units ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def is_unit(span: ReadableSpan) -> bool:
    """True for AI Workload Unit spans (they carry ``genops.spec.version``)."""
    return (span.attributes or {}).get(A.SPEC_VERSION) is not None


def row(span: ReadableSpan) -> tuple[Any, ...]:
    """The ``units`` row of one unit span, in :data:`COLUMNS` order."""
    a = span.attributes or {}
    ctx = span.context
    start = (span.start_time or 0) / 1e9
    end = (span.end_time or span.start_time or 0) / 1e9
    # a cost-bearing unit is a CLIENT span (genops.adapter.UnitRole "call"); a roll-up
    # parent is INTERNAL and carries genops.rollup.* totals
    rollup = A.ROLLUP_UNITS in a or span.kind is not SpanKind.CLIENT
    cost = a.get(A.COST_TOTAL)
    tokens = (0, 0, 0, 0, 0)
    if not rollup:  # a roll-up's usage belongs to the calls beneath it (never double count)
        tokens = (
            _int(a.get(A.GEN_AI_USAGE_INPUT_TOKENS)),
            _int(a.get(A.GEN_AI_USAGE_OUTPUT_TOKENS)),
            _int(a.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)),
            _int(a.get(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS)),
            _int(a.get(A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS)),
        )
    return (
        end,
        start,
        format(ctx.trace_id, "032x") if ctx else "",
        format(ctx.span_id, "016x") if ctx else "",
        _opt(span.resource.attributes.get("service.name")) if span.resource else None,
        _opt(a.get(A.ENVIRONMENT)),
        str(a.get(A.TEAM) or "unattributed"),
        str(a.get(A.PROJECT) or "unattributed"),
        _opt(a.get(A.CUSTOMER_ID)),
        _opt(a.get(A.FEATURE)),
        _opt(a.get(A.COST_CENTER)),
        _opt(a.get(A.OPERATION_NAME)),
        "rollup" if rollup else "call",
        _opt(a.get(A.GEN_AI_PROVIDER_NAME)),
        _opt(a.get(A.GEN_AI_REQUEST_MODEL)),
        *tokens,
        float(cost) if isinstance(cost, int | float) and not rollup else 0.0,
        _opt(a.get(A.COST_CURRENCY)),
        1 if a.get(A.COST_UNKNOWN) else 0,
        1 if a.get(A.ACCOUNTING_INCOMPLETE) else 0,
        _opt(a.get(A.POLICY_RESULT)),
        _opt(a.get(A.POLICY_REASON_CODE)),
        _opt(a.get(A.POLICY_NAME)),
        _opt(a.get(A.ERROR_TYPE)),
    )
