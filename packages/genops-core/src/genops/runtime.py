"""The configured genops runtime: ``genops.init()`` builds one, everything uses it.

``init()`` is idempotent: a second call **reconfigures** — the new settings replace
the old runtime (its integrations are disabled and re-enabled, the providers it
built are flushed) — and logs that it did. Code that ran ``governed()`` before any
``init()`` gets a default runtime on the global OpenTelemetry providers.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from genops import _safety, coexist, price_estimate
from genops import attributes as A
from genops._labels import AttributeCache, LabelCache
from genops._shutdown import ENV_SHUTDOWN_TIMEOUT, Deadline, parse_timeout
from genops._version import SPEC_VERSION
from genops.attribution import Attribution
from genops.cardinality import DEFAULT_LIMIT, DEFAULT_OVERFLOW, LabelGuard
from genops.integrations import Enabled, Waiting, enable_all
from genops.policy.base import PolicyEngine
from genops.policy.engine import Engine
from genops.policy.reload import PolicyReloader, parse_interval
from genops.pricing import PriceBook, PriceOverride, load_overrides
from genops.providers import ProviderMap, ProviderResolver, provider_map_from
from genops.semconv import ContentCapture, latest_experimental
from genops.telemetry import METRICS_EXPORTERS, Instruments, resolve_providers

log = logging.getLogger("genops")

_TRUE = {"1", "true", "yes", "on"}


class GenOps:
    """A configured runtime. Users get one from :func:`genops.init`."""

    def __init__(
        self,
        *,
        service_name: str = "genops-app",
        environment: str = "development",
        team: str | None = None,
        project: str | None = None,
        engine: PolicyEngine | None = None,
        prices: PriceBook | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        capture_content: bool | str | ContentCapture = False,
        default_max_output_tokens: int = 4096,
        customer_metric_label: bool = False,
        metrics_exporter: str | Sequence[str] | None = None,
        prometheus_host: str | None = None,
        prometheus_port: int | None = None,
        metric_label_limit: int = DEFAULT_LIMIT,
        metric_label_overflow: str = DEFAULT_OVERFLOW,
        semconv_latest: bool | None = None,
        providers: Mapping[str, str] | ProviderMap | None = None,
        exporter: str | None = None,
        local_store: bool | str | Path | None = None,
        shutdown_timeout: float | None = None,
        on_unknown_price: str | None = None,
    ) -> None:
        self.shutdown_timeout = parse_timeout(
            shutdown_timeout
            if shutdown_timeout is not None
            else os.environ.get(ENV_SHUTDOWN_TIMEOUT)
        )
        if not isinstance(service_name, str) or not service_name:
            raise ValueError("service_name must be a non-empty string")
        if not isinstance(environment, str) or not environment:
            raise ValueError("environment must be a non-empty string")
        if (
            isinstance(default_max_output_tokens, bool)
            or not isinstance(default_max_output_tokens, int)
            or default_max_output_tokens < 0
        ):
            raise ValueError("default_max_output_tokens must be an int >= 0")
        self.service_name = service_name
        self.environment = environment
        self.defaults = Attribution(team=team, project=project, environment=environment)
        self.engine: PolicyEngine = engine if engine is not None else Engine()
        self.prices = prices if prices is not None else PriceBook.default()
        #: The rule for a unit whose price is unknown (genops.price_estimate): "warn",
        #: "block", "estimate" or "allow"; the default of every policy that sets none.
        self.on_unknown_price = _unknown_price_rule(on_unknown_price, self.engine)
        exporters = _metrics_exporters(metrics_exporter)
        if exporters is not None and meter_provider is not None:
            raise ValueError("pass either meter_provider or metrics_exporter, not both")
        #: The newest GenAI semconv names (OTEL_SEMCONV_STABILITY_OPT_IN), read once.
        self.semconv_latest = latest_experimental() if semconv_latest is None else semconv_latest
        self.content_capture = ContentCapture.parse(capture_content)
        #: True when content is recorded anywhere (span attributes and/or events).
        self.capture_content = self.content_capture is not ContentCapture.NO_CONTENT
        #: Provider resolution (:func:`genops.resolve_provider`) with the user's map.
        self.providers = ProviderResolver(provider_map_from(providers), self.prices)
        tp, mp, owned, store = resolve_providers(
            tracer_provider,
            meter_provider,
            service_name=service_name,
            environment=environment,
            metrics_exporters=exporters,
            prometheus_host=prometheus_host,
            prometheus_port=prometheus_port,
            exporter=exporter,
            local_store=local_store,
        )
        #: the local spend store's span processor, when genops writes one
        self.store_processor = store
        #: Self-tracing GenAI telemetry found (genops.coexist): their spans' usage is
        #: moved to genops' unit, so no call is counted twice.
        self.self_tracing: tuple[str, ...] = coexist.detect()
        coexist.install(tp, detected=self.self_tracing)
        self.tracer_provider = tp
        self.meter_provider = mp
        self._owned_providers = owned
        self.instruments = Instruments.create(tp, mp, latest=self.semconv_latest)
        overflow_counter = self.instruments.label_overflow
        self.label_guard = LabelGuard(
            A.GUARDED_METRIC_LABELS,
            limit=metric_label_limit,
            overflow=metric_label_overflow,
            on_overflow=lambda label: overflow_counter.add(1, {A.METRIC_LABEL: label}),
        )
        #: metric label sets built and guarded once per key (genops._labels)
        self.label_cache = LabelCache(self.label_guard)
        #: unit span start attributes, built once per (operation, model, attribution, …)
        self.span_attribute_cache = AttributeCache()
        self.default_max_output_tokens = default_max_output_tokens
        self.customer_metric_label = customer_metric_label
        #: Attributes set on every unit span, built once.
        self.static_attributes: Mapping[str, Any] = {
            A.SPEC_VERSION: SPEC_VERSION,
            A.ENVIRONMENT: environment,
        }
        self.integrations: list[Enabled] = []
        #: re-reads the policy file when it changes (``init(policy=<path>)``), else None
        self.policy_reloader: PolicyReloader | None = None
        #: integrations enabled when the app imports their module (``instrument=True``)
        self.waiting_integrations: list[Waiting] = []
        counter = self.instruments.internal_errors
        _safety.set_counter_hook(lambda where: counter.add(1, {A.ERROR_PLACE: where}))

    def force_flush(self, timeout_millis: int = 30_000) -> None:
        """Flush spans and metrics of the providers in use."""
        for provider in (self.tracer_provider, self.meter_provider):
            flush = getattr(provider, "force_flush", None)
            if callable(flush):
                flush(timeout_millis)

    def shutdown(self, timeout: float | None = None) -> None:
        """Disable integrations; close the policy engine (audit, ledger) and flush the
        local store first; then flush and shut down the telemetry providers genops
        built — all within ``timeout`` seconds (default ``self.shutdown_timeout``)."""
        deadline = Deadline(self.shutdown_timeout if timeout is None else parse_timeout(timeout))
        reloader, self.policy_reloader = self.policy_reloader, None
        if reloader is not None:
            with _safety.guard("policy reloader stop"):
                reloader.stop()
        for waiting in list(self.waiting_integrations):
            waiting.cancel()
        self.waiting_integrations = []
        for item in self.integrations:
            with _safety.guard(f"disable integration {item.name}"):
                item.disable()
        self.integrations = []
        close = getattr(self.engine, "close", None)
        if callable(close):
            with _safety.guard("policy engine close"):
                deadline.run("audit and ledger", close)
        store, self.store_processor = self.store_processor, None
        if store is not None:
            with _safety.guard("local store flush"):
                deadline.run("local store", lambda: store.force_flush())
        owned, self._owned_providers = self._owned_providers, []

        def telemetry() -> None:
            self.force_flush(int(deadline.remaining() * 1000))
            for provider in owned:
                provider.shutdown()
            if store is not None and not owned:
                store.shutdown()

        with _safety.guard("telemetry flush"):
            deadline.run("telemetry", telemetry)
        deadline.report()


_lock = threading.RLock()
_runtime: GenOps | None = None


def get_runtime() -> GenOps:
    """The runtime set by :func:`init`, or a default one on the global providers."""
    rt = _runtime
    if rt is not None:
        return rt
    with _lock:
        if _runtime is None:
            _set_runtime(_from_env())
        assert _runtime is not None
        return _runtime


def _set_runtime(rt: GenOps | None) -> None:
    global _runtime
    _runtime = rt


def _from_env() -> GenOps:
    capture: str | ContentCapture = os.environ.get(A.ENV_CAPTURE_CONTENT, "")
    try:
        capture = ContentCapture.parse(capture)
    except ValueError as exc:  # a default runtime must not break the app: log, capture nothing
        log.warning("genops: %s; content capture off", exc)
        capture = ContentCapture.NO_CONTENT
    return GenOps(
        service_name=os.environ.get("OTEL_SERVICE_NAME", "genops-app"),
        environment=os.environ.get(A.ENV_ENVIRONMENT, "development"),
        team=os.environ.get(A.ENV_TEAM) or None,
        project=os.environ.get(A.ENV_PROJECT) or None,
        capture_content=capture,
    )


def init(
    service_name: str | None = None,
    environment: str | None = None,
    team: str | None = None,
    project: str | None = None,
    policy: str | Path | Mapping[str, Any] | PolicyEngine | None = None,
    ledger: str | Any = "memory",
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    instrument: bool | Iterable[str] = True,
    capture_content: bool | str | ContentCapture | None = None,
    *,
    prices: str | Path | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    default_max_output_tokens: int = 4096,
    customer_metric_label: bool | None = None,
    metrics_exporter: str | Sequence[str] | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    metric_label_limit: int | None = None,
    metric_label_overflow: str | None = None,
    providers: Mapping[str, str] | ProviderMap | None = None,
    exporter: str | None = None,
    local_store: bool | str | Path | None = None,
    shutdown_timeout: float | None = None,
    policy_reload: float | bool | None = None,
    on_unknown_price: str | None = None,
) -> GenOps:
    """Configure genops once for the process and return the runtime.

    ::

        import genops
        genops.init(service_name="support-bot", environment="production",
                    team="support", project="helpdesk", policy="genops-policy.yaml")

    Arguments left ``None`` come from the environment: ``OTEL_SERVICE_NAME``,
    ``GENOPS_ENVIRONMENT`` (default ``development``), ``GENOPS_TEAM``,
    ``GENOPS_PROJECT``, ``GENOPS_POLICY_FILE``, ``GENOPS_LEDGER_URL``,
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.

    - ``policy``: a YAML file path, a dict, or a ready policy engine.
    - ``ledger``: ``"memory"``, ``"sqlite:///path"``, ``"redis://..."``, ``"postgresql://..."``.
    - ``instrument``: ``True`` enables every installed integration package
      (entry point group ``genops.integrations``); a list of names enables those.
      genops imports no SDK or framework for this: each is instrumented when the app
      imports it (at once if it already has), see :mod:`genops.integrations`.
    - ``prices``: price overrides (YAML path, dict or list), consulted before genai-prices.
    - ``capture_content``: ``True``/``False`` or a mode of :class:`genops.semconv.ContentCapture`
      (``"NO_CONTENT"``, ``"SPAN_ONLY"``, ``"EVENT_ONLY"``, ``"SPAN_AND_EVENT"``).
    - ``metrics_exporter``: ``"prometheus"`` (a scrape endpoint on
      ``prometheus_host:prometheus_port``, default ``localhost:9464``), ``"otlp"``,
      ``"console"``, ``"none"`` or a list; default ``OTEL_METRICS_EXPORTER``. When given,
      genops builds its own meter provider.
    - ``metric_label_limit`` / ``metric_label_overflow``: the cardinality guard
      (``GENOPS_METRICS_LABEL_LIMIT``, ``GENOPS_METRICS_LABEL_OVERFLOW``; default 200, ``_OTHER``).

    Semantic-convention names: v1.41 by default; the newest GenAI names when
    ``OTEL_SEMCONV_STABILITY_OPT_IN`` contains ``gen_ai_latest_experimental``
    (see :mod:`genops.semconv`).
    - ``providers``: host (or glob) → provider for gateways and proxies, e.g.
      ``{"llm.internal.example": "openai", "*.azure-api.net": "azure.ai.openai"}``;
      default ``GENOPS_PROVIDERS`` (``host=provider,...``). See :mod:`genops.providers`.
    - ``exporter``: ``"otlp"``, ``"console"``, ``"none"`` (comma-separated) for the traces
      and metrics genops' own providers send; default: ``OTEL_{TRACES,METRICS}_EXPORTER``,
      else OTLP when ``OTEL_EXPORTER_OTLP_*ENDPOINT`` is set, else nothing on the network.
    - ``local_store``: the local spend store (``genops report``): ``True``, ``False`` or
      a file path; default ``GENOPS_LOCAL_STORE``, else on exactly when traces have no
      network exporter.
    - ``on_unknown_price``: ``"warn"`` (default), ``"block"``, ``"estimate"`` — what a unit
      whose model has no price does, on every path (``GENOPS_ON_UNKNOWN_PRICE``; the
      default of policies that set none). See docs/policies.md, "Unknown price".
    - ``shutdown_timeout``: seconds :func:`shutdown` and interpreter exit may take at most
      (``GENOPS_SHUTDOWN_TIMEOUT``, default 5).
    - ``policy_reload``: with ``policy`` a file path, seconds between checks of the file
      for changes (``GENOPS_POLICY_RELOAD``, default 5; ``0``/``False``: only
      :func:`genops.reload_policies`). See :mod:`genops.policy.reload`.

    Calling ``init`` again reconfigures: the previous runtime is shut down first.
    """
    for name, value in (
        ("service_name", service_name),
        ("environment", environment),
        ("team", team),
        ("project", project),
    ):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{name} must be a non-empty string or None, got {value!r}")
    if capture_content is not None and not isinstance(capture_content, bool | str | ContentCapture):
        raise TypeError("capture_content must be a bool, a ContentCapture mode name or None")
    service_name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "genops-app"
    environment = environment or os.environ.get(A.ENV_ENVIRONMENT) or "development"
    team = team or os.environ.get(A.ENV_TEAM) or None
    project = project or os.environ.get(A.ENV_PROJECT) or None
    if capture_content is None:
        capture_content = os.environ.get(A.ENV_CAPTURE_CONTENT, "")
    content_mode = ContentCapture.parse(capture_content)  # a bad value fails here, precisely
    label_limit = (
        metric_label_limit
        if metric_label_limit is not None
        else _env_int(A.ENV_METRIC_LABEL_LIMIT, DEFAULT_LIMIT)
    )
    label_overflow = (
        metric_label_overflow
        if metric_label_overflow is not None
        else os.environ.get(A.ENV_METRIC_LABEL_OVERFLOW) or DEFAULT_OVERFLOW
    )
    if customer_metric_label is None:
        customer_metric_label = os.environ.get(A.ENV_METRIC_CUSTOMER_LABEL, "").lower() in _TRUE
    if policy is None and os.environ.get(A.ENV_POLICY_FILE):
        policy = os.environ[A.ENV_POLICY_FILE]
    if ledger == "memory" and os.environ.get(A.ENV_LEDGER_URL):
        ledger = os.environ[A.ENV_LEDGER_URL]

    overrides: list[PriceOverride] = load_overrides(prices) if prices is not None else []
    price_book = PriceBook.default(overrides, start=False)  # started last: see the end
    provider_map = provider_map_from(providers)
    reload_interval = parse_interval(policy_reload)
    rule = on_unknown_price or os.environ.get(A.ENV_ON_UNKNOWN_PRICE) or None
    engine = build_engine(policy, ledger, on_unknown_price=rule)

    with _lock:
        previous = _runtime
        if previous is not None:
            log.info("genops.init() called again: reconfiguring (previous runtime shut down)")
            previous.shutdown()
        rt = GenOps(
            service_name=service_name,
            environment=environment,
            team=team,
            project=project,
            engine=engine,
            prices=price_book,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            capture_content=content_mode,
            default_max_output_tokens=default_max_output_tokens,
            customer_metric_label=customer_metric_label,
            metrics_exporter=metrics_exporter,
            prometheus_host=prometheus_host,
            prometheus_port=prometheus_port,
            metric_label_limit=label_limit,
            metric_label_overflow=label_overflow,
            providers=provider_map,
            exporter=exporter,
            local_store=local_store,
            shutdown_timeout=shutdown_timeout,
            on_unknown_price=rule,
        )
        if isinstance(policy, str | Path) and isinstance(engine, Engine):
            rt.policy_reloader = PolicyReloader(
                engine,
                Path(policy),
                interval=reload_interval,
                meter_provider=rt.meter_provider,
                on_unknown_price=rule,
            )
        _set_runtime(rt)
    if instrument:
        only = None if instrument is True else set(instrument)
        rt.integrations = enable_all(rt, only, waiting=rt.waiting_integrations)
    # The price data loads on a thread started only now: beside init's own work it would
    # take the GIL from it (a look-up before this point loads in its caller).
    price_book.start()
    return rt


def _unknown_price_rule(value: str | None, engine: Any) -> str:
    """``init(on_unknown_price=)``, else ``GENOPS_ON_UNKNOWN_PRICE``, else the policy
    file's ``defaults.on_unknown_price``, else ``warn``; written into the engine's policy
    defaults, so policies added later (``register_policy``) follow it too."""
    defaults = getattr(engine, "policy_defaults", None)
    rule = value or os.environ.get(A.ENV_ON_UNKNOWN_PRICE) or None
    if rule is None and isinstance(defaults, dict):
        rule = defaults.get("on_unknown_price")
    rule = (rule or "warn").strip().lower()
    if rule not in price_estimate.CHOICES:
        raise ValueError(
            f"on_unknown_price must be one of {', '.join(price_estimate.CHOICES)}, got {rule!r}"
        )
    if isinstance(defaults, dict):
        defaults["on_unknown_price"] = rule
    return rule


def _metrics_exporters(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    cleaned = [n.strip().lower() for n in names if isinstance(n, str) and n.strip()]
    if not cleaned or len(cleaned) != len(names):
        raise ValueError(f"metrics_exporter: expected exporter names, got {value!r}")
    for name in cleaned:
        if name not in METRICS_EXPORTERS:
            raise ValueError(
                f"metrics_exporter: unsupported exporter {name!r} ({', '.join(METRICS_EXPORTERS)})"
            )
    return cleaned


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


def build_engine(policy: Any, ledger: Any, *, on_unknown_price: str | None = None) -> PolicyEngine:
    """The policy engine for ``init(policy=..., ledger=...)``."""
    if isinstance(policy, PolicyEngine):
        return policy
    if policy is None and not os.environ.get(A.ENV_AUDIT_SINK):
        return Engine(ledger=ledger)  # what loader.default_engine builds, without pydantic
    from genops.policy import loader

    if on_unknown_price is not None and on_unknown_price not in price_estimate.CHOICES:
        raise ValueError(
            f"on_unknown_price must be one of {', '.join(price_estimate.CHOICES)}, "
            f"got {on_unknown_price!r}"
        )
    if policy is None:
        return loader.default_engine(ledger)

    return loader.build_engine(policy, ledger=ledger, on_unknown_price=on_unknown_price)


def shutdown(timeout: float | None = None) -> None:
    """Disable integrations, flush genops' durable state (audit, ledger, local store),
    then telemetry — never longer than ``timeout`` seconds (``init(shutdown_timeout=)``,
    default 5). Also runs at interpreter exit."""
    with _lock:
        rt = _runtime
        _set_runtime(None)
    if rt is not None:
        rt.shutdown(timeout)


atexit.register(shutdown)
