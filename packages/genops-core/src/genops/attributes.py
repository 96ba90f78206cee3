"""Every telemetry name genops emits, defined once.

OpenTelemetry GenAI names come from ``opentelemetry-semantic-conventions`` where it
defines them; GenOps names follow the GenOps Governance Specification v0.1
(Appendix A and B). No other module spells an attribute, event or metric name.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _gen_ai
from opentelemetry.semconv.attributes import error_attributes as _error

# --- OpenTelemetry GenAI semantic conventions -------------------------------------------
GEN_AI_OPERATION_NAME: Final = _gen_ai.GEN_AI_OPERATION_NAME
GEN_AI_PROVIDER_NAME: Final = _gen_ai.GEN_AI_PROVIDER_NAME
GEN_AI_REQUEST_MODEL: Final = _gen_ai.GEN_AI_REQUEST_MODEL
GEN_AI_REQUEST_MAX_TOKENS: Final = _gen_ai.GEN_AI_REQUEST_MAX_TOKENS
GEN_AI_REQUEST_STREAM: Final = _gen_ai.GEN_AI_REQUEST_STREAM
GEN_AI_RESPONSE_MODEL: Final = _gen_ai.GEN_AI_RESPONSE_MODEL
GEN_AI_RESPONSE_ID: Final = _gen_ai.GEN_AI_RESPONSE_ID
GEN_AI_RESPONSE_FINISH_REASONS: Final = _gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = _gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK
GEN_AI_USAGE_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_INPUT_TOKENS
GEN_AI_USAGE_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
GEN_AI_TOKEN_TYPE: Final = _gen_ai.GEN_AI_TOKEN_TYPE
GEN_AI_TOOL_NAME: Final = _gen_ai.GEN_AI_TOOL_NAME
GEN_AI_TOOL_CALL_ID: Final = _gen_ai.GEN_AI_TOOL_CALL_ID
GEN_AI_TOOL_TYPE: Final = _gen_ai.GEN_AI_TOOL_TYPE
GEN_AI_AGENT_NAME: Final = _gen_ai.GEN_AI_AGENT_NAME
GEN_AI_WORKFLOW_NAME: Final = _gen_ai.GEN_AI_WORKFLOW_NAME
GEN_AI_DATA_SOURCE_ID: Final = _gen_ai.GEN_AI_DATA_SOURCE_ID
GEN_AI_INPUT_MESSAGES: Final = _gen_ai.GEN_AI_INPUT_MESSAGES
GEN_AI_OUTPUT_MESSAGES: Final = _gen_ai.GEN_AI_OUTPUT_MESSAGES
GEN_AI_CONVERSATION_ID: Final = _gen_ai.GEN_AI_CONVERSATION_ID
GEN_AI_EVALUATION_NAME: Final = _gen_ai.GEN_AI_EVALUATION_NAME
GEN_AI_EVALUATION_SCORE_VALUE: Final = _gen_ai.GEN_AI_EVALUATION_SCORE_VALUE
GEN_AI_EVALUATION_SCORE_LABEL: Final = _gen_ai.GEN_AI_EVALUATION_SCORE_LABEL
GEN_AI_EVALUATION_EXPLANATION: Final = _gen_ai.GEN_AI_EVALUATION_EXPLANATION
#: newest GenAI names (semantic-conventions-genai), emitted only under
#: OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental (see genops.semconv)
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_TOKEN_MODALITY: Final = "gen_ai.token.modality"
#: the modality value when the provider reports no breakdown (semconv-genai registry)
TOKEN_MODALITY_UNKNOWN: Final = "unknown"
ERROR_TYPE: Final = _error.ERROR_TYPE
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"

#: gen_ai.operation.name values (semconv well-known values).
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EMBEDDINGS: Final = "embeddings"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_RETRIEVAL: Final = "retrieval"

# --- GenOps v0.1 required attributes (spec §7.1) ------------------------------------------
TEAM: Final = "genops.team"
PROJECT: Final = "genops.project"
ENVIRONMENT: Final = "genops.environment"
OPERATION_NAME: Final = "genops.operation.name"
OPERATION_TYPE: Final = "genops.operation.type"
ACCOUNTING_RESERVED: Final = "genops.accounting.reserved"
ACCOUNTING_ACTUAL: Final = "genops.accounting.actual"
ACCOUNTING_UNIT: Final = "genops.accounting.unit"
POLICY_RESULT: Final = "genops.policy.result"
POLICY_REASON_CODE: Final = "genops.policy.reason_code"
SPEC_VERSION: Final = "genops.spec.version"

# --- GenOps v0.1 optional attributes (spec §7.3) ------------------------------------------
ACCOUNTING_RECONCILIATION_DELTA: Final = "genops.accounting.reconciliation_delta"
BUDGET_NAME: Final = "genops.budget.name"
BUDGET_ALLOCATED: Final = "genops.budget.allocated"
BUDGET_CONSUMED: Final = "genops.budget.consumed"
BUDGET_REMAINING: Final = "genops.budget.remaining"
BUDGET_PERIOD: Final = "genops.budget.period"
#: the alert_at fraction a genops.budget.alert reports (genops extension)
BUDGET_THRESHOLD: Final = "genops.budget.threshold"
#: the window of the budget a genops.budget.alert reports (genops extension): daily, …
BUDGET_WINDOW: Final = "genops.budget.window"
POLICY_NAME: Final = "genops.policy.name"
POLICY_REASON: Final = "genops.policy.reason"
POLICY_TIMESTAMP: Final = "genops.policy.timestamp"
COST_TOTAL: Final = "genops.cost.total"
COST_CURRENCY: Final = "genops.cost.currency"
COST_PROVIDER: Final = "genops.cost.provider"
COST_MODEL: Final = "genops.cost.model"
TOKENS_INPUT: Final = "genops.tokens.input"
TOKENS_OUTPUT: Final = "genops.tokens.output"
TOKENS_TOTAL: Final = "genops.tokens.total"
CUSTOMER_ID: Final = "genops.customer_id"
FEATURE: Final = "genops.feature"
SESSION_ID: Final = "genops.session_id"
COST_CENTER: Final = "genops.cost_center"
EVAL_METRIC: Final = "genops.eval.metric"
EVAL_SCORE: Final = "genops.eval.score"
EVAL_THRESHOLD: Final = "genops.eval.threshold"
EVAL_PASSED: Final = "genops.eval.passed"
# SLA boundary (spec §6.3): all four on a unit under an SLA, or none
SLA_TIER: Final = "genops.sla.tier"
SLA_LATENCY_TARGET_MS: Final = "genops.sla.latency_target_ms"
SLA_ACTUAL_LATENCY_MS: Final = "genops.sla.actual_latency_ms"
SLA_MET: Final = "genops.sla.met"

# --- genops extensions (not in the spec; namespaced so they never collide) ---------------
#: true when no price is known for (provider, model): cost is unknown, never $0.
COST_UNKNOWN: Final = "genops.cost.unknown"
#: where the price came from ("override" | "genai-prices") and that source's data version.
COST_PRICE_SOURCE: Final = "genops.cost.price_source"
COST_PRICE_VERSION: Final = "genops.cost.price_version"
#: true when genops.cost.total is an estimate (on_unknown_price: estimate): price_source
#: is "estimate:family" / "estimate:override" / "estimate:request_model" and
#: price_version names the basis (genops.price_estimate). Also a label of genops.cost.
COST_ESTIMATED: Final = "genops.cost.estimated"
ENV_ON_UNKNOWN_PRICE: Final = "GENOPS_ON_UNKNOWN_PRICE"
#: Roll-up of descendant units on non-unit parent spans (chains, agents, retrievers).
ROLLUP_COST_TOTAL: Final = "genops.rollup.cost.total"
ROLLUP_COST_UNKNOWN_UNITS: Final = "genops.rollup.cost.unknown_units"
ROLLUP_TOKENS_INPUT: Final = "genops.rollup.tokens.input"
ROLLUP_TOKENS_OUTPUT: Final = "genops.rollup.tokens.output"
ROLLUP_TOKENS_TOTAL: Final = "genops.rollup.tokens.total"
ROLLUP_UNITS: Final = "genops.rollup.units"
#: the reconciliation could not use a measured value (spec §3.5: flag incomplete records).
ACCOUNTING_INCOMPLETE: Final = "genops.accounting.incomplete"
POLICY_ENFORCEMENT: Final = "genops.policy.enforcement"
#: true when (part of) the usage was counted locally, not reported by the provider: the
#: output seen so far of a stream closed early, a stream whose provider rejected
#: stream_options (characters / 4). The cost is priced from it, never from the reservation.
USAGE_ESTIMATED: Final = "genops.usage.estimated"
#: on another library's GenAI span (an SDK that traces itself, an OTel GenAI
#: instrumentation) whose gen_ai.usage.* genops dropped: the span id (hex) of the
#: genops unit that carries the call's usage (genops.coexist).
USAGE_COUNTED_ON: Final = "genops.usage.counted_on"
#: set when gen_ai.provider.name is not a fact about the endpoint (genops.providers):
#: "framework" (the framework's hint), "wire_family" (the SDK's wire format) or "unknown".
PROVIDER_SOURCE: Final = "genops.provider.source"
#: label of genops.internal.errors: where inside genops the error happened
ERROR_PLACE: Final = "genops.error.place"
#: prefix of the attribution keys in baggage
BAGGAGE_PREFIX: Final = "genops."
POLICY_EVALUATED_COUNT: Final = "genops.policy.evaluated_count"
#: the names of the policies that decided the unit, in evaluation order (genops extension)
POLICY_EVALUATED_NAMES: Final = "genops.policy.evaluated_names"
#: where a unit's SLA boundary came from (genops extension): "unit", "context" or "policy"
SLA_SOURCE: Final = "genops.sla.source"
#: label of genops.policy.reloads: "applied", "unchanged" or "error"
POLICY_RELOAD_RESULT: Final = "genops.policy.reload.result"

#: Attribution fields, in the order they appear in attribution and baggage.
ATTRIBUTION_FIELDS: Final = (
    "team",
    "project",
    "environment",
    "customer_id",
    "feature",
    "cost_center",
    "session_id",
)
#: Attribution field → span attribute / baggage key.
ATTRIBUTION_KEYS: Final = {field: f"genops.{field}" for field in ATTRIBUTION_FIELDS}

# --- Events (spec §7.2, §8) --------------------------------------------------------------
EVENT_POLICY_EVALUATED: Final = "genops.policy.evaluated"
EVENT_BUDGET_RESERVATION: Final = "genops.budget.reservation"
EVENT_BUDGET_RECONCILIATION: Final = "genops.budget.reconciliation"
EVENT_COST_CALCULATED: Final = "genops.cost.calculated"
EVENT_BUDGET_ALERT: Final = "genops.budget.alert"
EVENT_EVALUATION_COMPLETE: Final = "genops.evaluation.complete"
#: the OTel GenAI evaluation event (semantic-conventions-genai events.yaml)
EVENT_GEN_AI_EVALUATION_RESULT: Final = "gen_ai.evaluation.result"

# --- Metrics ------------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_COST: Final = "genops.cost"
METRIC_COST_UNKNOWN: Final = "genops.cost.unknown_units"
METRIC_POLICY_DECISIONS: Final = "genops.policy.decisions"
METRIC_BUDGET_ALERTS: Final = "genops.budget.alerts"
METRIC_INTERNAL_ERRORS: Final = "genops.internal.errors"
METRIC_BUDGET_CONSUMED: Final = "genops.budget.consumed"
METRIC_BUDGET_REMAINING: Final = "genops.budget.remaining"
METRIC_BUDGET_UTILIZATION: Final = "genops.budget.utilization"
#: label values collapsed into the overflow value by the cardinality guard
METRIC_LABEL_OVERFLOW: Final = "genops.metrics.label_overflow"
#: label of genops.metrics.label_overflow: which label overflowed
METRIC_LABEL: Final = "genops.metrics.label"
#: label of the budget gauges: the budget instance's scope ("team=support", "" for global)
BUDGET_SCOPE: Final = "genops.budget.scope"
BUDGET_UNIT: Final = "genops.budget.unit"
#: end-to-end latency of units under an SLA (s), by tier; and units by tier and met
METRIC_SLA_LATENCY: Final = "genops.sla.latency"
METRIC_SLA_UNITS: Final = "genops.sla.units"
#: evaluation scores by metric name / team / model, and results by pass/fail
METRIC_EVALUATION_SCORE: Final = "genops.evaluation.score"
METRIC_EVALUATION_RESULTS: Final = "genops.evaluation.results"
#: policy file reloads by genops.policy.reload.result
METRIC_POLICY_RELOADS: Final = "genops.policy.reloads"

# Newest GenAI metric names (semantic-conventions-genai migration guide, PRs #374 #521
# #201 #322 #126), emitted instead of the v1.41 ones under the latest-experimental opt-in.
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
METRIC_INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
METRIC_INFERENCE_USAGE_INPUT: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_INFERENCE_USAGE_OUTPUT: Final = "gen_ai.client.inference.usage.output_tokens"
METRIC_INFERENCE_USAGE_CACHE_READ: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
METRIC_INFERENCE_USAGE_CACHE_WRITE: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
METRIC_INFERENCE_USAGE_REASONING: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"
METRIC_INFERENCE_OPERATION_INPUT: Final = "gen_ai.client.inference.operation.input_tokens"
METRIC_INFERENCE_OPERATION_OUTPUT: Final = "gen_ai.client.inference.operation.output_tokens"
METRIC_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
METRIC_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
METRIC_INVOKE_WORKFLOW_DURATION: Final = "gen_ai.invoke_workflow.duration"
#: Metric labels the cardinality guard caps (genops.cardinality).
GUARDED_METRIC_LABELS: Final = (
    TEAM,
    PROJECT,
    ENVIRONMENT,
    CUSTOMER_ID,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_AGENT_NAME,
    GEN_AI_TOOL_NAME,
    GEN_AI_WORKFLOW_NAME,
    BUDGET_SCOPE,
    SLA_TIER,
    EVAL_METRIC,
)
#: gen_ai.operation.name values that are inference (gen_ai.client.inference.*)
INFERENCE_OPERATIONS: Final = frozenset({"chat", "text_completion", "generate_content"})

#: Bucket boundaries the GenAI semantic conventions specify.
TOKEN_USAGE_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

# --- Environment variables ----------------------------------------------------------------
ENV_TEAM: Final = "GENOPS_TEAM"
ENV_PROJECT: Final = "GENOPS_PROJECT"
ENV_ENVIRONMENT: Final = "GENOPS_ENVIRONMENT"
ENV_POLICY_FILE: Final = "GENOPS_POLICY_FILE"
#: seconds between checks of the policy file for changes; 0/off disables (default 5)
ENV_POLICY_RELOAD: Final = "GENOPS_POLICY_RELOAD"
ENV_LEDGER_URL: Final = "GENOPS_LEDGER_URL"
#: the local spend store: a path, or one of LOCAL_STORE_OFF
ENV_LOCAL_STORE: Final = "GENOPS_LOCAL_STORE"
#: values of GENOPS_LOCAL_STORE that turn the store off
LOCAL_STORE_OFF: Final = frozenset({"off", "none", "false", "0", ""})
ENV_AUDIT_SINK: Final = "GENOPS_AUDIT_SINK"
ENV_CAPTURE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ENV_METRIC_CUSTOMER_LABEL: Final = "GENOPS_METRICS_CUSTOMER_LABEL"
ENV_METRIC_LABEL_LIMIT: Final = "GENOPS_METRICS_LABEL_LIMIT"
ENV_METRIC_LABEL_OVERFLOW: Final = "GENOPS_METRICS_LABEL_OVERFLOW"
ENV_SEMCONV_OPT_IN: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"
ENV_METRICS_EXPORTER: Final = "OTEL_METRICS_EXPORTER"
ENV_PROMETHEUS_HOST: Final = "OTEL_EXPORTER_PROMETHEUS_HOST"
ENV_PROMETHEUS_PORT: Final = "OTEL_EXPORTER_PROMETHEUS_PORT"
#: host=provider pairs for genops.providers (zero-code user map)
ENV_PROVIDERS: Final = "GENOPS_PROVIDERS"
