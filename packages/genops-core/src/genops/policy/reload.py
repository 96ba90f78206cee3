"""Policies that change without a restart: re-read the policy file when it changes.

``genops.init(policy="/etc/genops/policy.yaml")`` watches that path (one ``stat`` every
``policy_reload`` seconds on a daemon thread, default 5; ``GENOPS_POLICY_RELOAD``;
``0`` turns the thread off) and ``genops.reload_policies()`` reloads on demand. A
Kubernetes ConfigMap mount works as is: the kubelet swaps a symlink, ``stat`` follows it.

A reload validates the whole new document first; only then is the engine's policy set
replaced **in one assignment** (:meth:`Engine.swap`): a unit being admitted sees the old
set or the new one, never a mix. Units already admitted keep their decision and settle
their reservation against the ledger they reserved in (spec §4.3). Policies registered
in code (``genops.register_policy``) are kept; a file policy of the same name is an error.

**Budgets carry over**: the ledger is not replaced, and a budget's ledger key is its name
and ``per`` values (``budget:team-daily|team=search``), so a budget whose name and ``per``
are unchanged keeps its consumption and in-flight reservations — a new ``limit`` applies
to what is already consumed, a new ``window`` starts counting in that window's buckets,
a new ``scope`` only changes which units count from now on.
A renamed budget, or one with other ``per`` fields, is a new budget that starts at zero
(the old consumption stays in the ledger until its window expires). SLA and evaluation
windows carry over when a rule's name, ``per`` and window length are unchanged.
``ledger:``, ``audit:`` and ``defaults.ledger_retry_after`` need a restart: a reload that
changes them applies everything else and says so (log line, :attr:`PolicyReload.notes`).

An invalid file (bad YAML, a typo, a missing file) keeps the policies in effect and is
reported **once** per distinct error: a warning log line, ``genops.policy.reloads``
``{genops.policy.reload.result="error"}`` and an audit record (``RELOAD_FAILED``).
Applied reloads count ``result="applied"`` and write a ``RELOADED`` audit record.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genops import _safety
from genops import attributes as A
from genops._version import __version__
from genops.policy.base import Enforcement, Policy
from genops.policy.engine import ATTRIBUTION_POLICY, AttributionRequired, Engine
from genops.policy.errors import PolicyConfigError

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from genops.policy import loader

log = logging.getLogger("genops")

#: seconds between two checks of the policy file, unless configured
DEFAULT_INTERVAL = 5.0

APPLIED = "applied"
UNCHANGED = "unchanged"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class PolicyReload:
    """The outcome of one reload: ``result`` is ``applied``, ``unchanged`` or ``error``."""

    result: str
    source: str
    #: the policies in effect afterwards, in evaluation order (built-ins included)
    policies: tuple[str, ...]
    error: PolicyConfigError | None = None
    #: settings in the new file that only a restart applies
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True unless the new file was rejected (the old policies stayed)."""
        return self.result != ERROR


def parse_interval(value: float | bool | str | None) -> float:
    """Seconds between checks from ``init(policy_reload=)`` / ``GENOPS_POLICY_RELOAD``
    (``True`` → the default, ``False``/``0``/``off`` → no background checks)."""
    if value is None:
        value = os.environ.get(A.ENV_POLICY_RELOAD, "")
        if not value.strip():
            return DEFAULT_INTERVAL
    if value is True:
        return DEFAULT_INTERVAL
    if value is False:
        return 0.0
    if isinstance(value, str) and value.strip().lower() in ("off", "false", "no"):
        return 0.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"policy_reload must be seconds (or off), got {value!r}") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"policy_reload must be >= 0 seconds, got {value!r}")
    return seconds


def _signature(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)


class PolicyReloader:
    """Keeps an :class:`Engine`'s policies in step with a policy file (see module docs).

    ::

        reloader = PolicyReloader(engine, Path("policy.yaml"), interval=5)
        reloader.reload()      # on demand; returns a PolicyReload
        reloader.stop()
    """

    def __init__(
        self,
        engine: Engine,
        path: Path,
        *,
        interval: float = DEFAULT_INTERVAL,
        meter_provider: MeterProvider | None = None,
        on_unknown_price: str | None = None,
    ) -> None:
        self.engine = engine
        self.path = path
        #: ``init(on_unknown_price=)``: applied to every reloaded document, as at start
        self.on_unknown_price = on_unknown_price
        self.interval = interval
        from genops.policy import loader  # (pydantic + YAML: off the `import genops` path)

        self._lock = threading.Lock()
        self._signature = _signature(path)
        text = self._read()
        self._digest: str | None = None
        self._config: loader.PolicyConfig | None = None
        if text is not None:
            try:  # the engine was just built from this file; it may have changed since
                self._config = loader.load_data(
                    loader.parse_yaml(text), source=str(path), on_unknown_price=on_unknown_price
                )
                self._digest = _digest(text)
            except PolicyConfigError:
                self._signature = None  # so the first check reloads it and reports it
        #: names of the policies that came from the file (the rest came from code)
        self._from_file = frozenset(p.name for p in engine.policies) - {ATTRIBUTION_POLICY}
        self._reported: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._counter = None
        if meter_provider is not None:
            from genops.telemetry import SCHEMA_URL

            meter = meter_provider.get_meter("genops", __version__, schema_url=SCHEMA_URL)
            self._counter = meter.create_counter(
                A.METRIC_POLICY_RELOADS,
                unit="{reload}",
                description="Policy file reloads, by result (applied, error).",
            )
        self._start()
        # a forked worker (gunicorn --preload) has no thread: start its own there
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _restart_in_child(ref))

    def _start(self) -> None:
        if self.interval > 0 and not self._stop.is_set():
            self._thread = threading.Thread(
                target=self._run, name="genops-policy-reload", daemon=True
            )
            self._thread.start()

    # ------------------------------------------------------------------ watching
    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception as exc:  # a thread must not die of our bug; logged once
                _safety.count_only("policy reload")
                if self._reported != repr(exc):
                    self._reported = repr(exc)
                    log.error("genops policy reload failed: %r", exc)

    def check(self) -> PolicyReload | None:
        """Reload if the file's ``stat`` changed since the last look; else ``None``."""
        if _signature(self.path) == self._signature:
            return None
        return self.reload()

    def stop(self) -> None:
        """Stop the background checks (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)  # it wakes at once; a hung file system must not hang exit

    # ------------------------------------------------------------------ reloading
    def _read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def reload(self) -> PolicyReload:
        """Read and validate the file; swap the policies if it changed (one at a time)."""
        from genops.policy import loader

        with self._lock:
            self._signature = _signature(self.path)
            text = self._read()
            try:
                if text is None:
                    raise PolicyConfigError("policy file not found", source=str(self.path))
                if len(text.encode("utf-8")) > loader.MAX_FILE_BYTES:
                    raise PolicyConfigError(
                        f"file is larger than {loader.MAX_FILE_BYTES} bytes", source=str(self.path)
                    )
                digest = _digest(text)
                if digest == self._digest:
                    self._reported = None
                    return self._outcome(UNCHANGED)
                config = loader.load_data(
                    loader.parse_yaml(text, source=str(self.path)),
                    source=str(self.path),
                    on_unknown_price=self.on_unknown_price,
                )
                self._apply(config)
            except PolicyConfigError as exc:
                return self._failed(exc)
            previous, self._config, self._digest = self._config, config, digest
            self._reported = None
            notes = _restart_notes(previous, config)
            for note in notes:
                log.warning("genops: policy reload of %s: %s", self.path, note)
            outcome = self._outcome(APPLIED, notes=notes)
            log.info(
                "genops: policies reloaded from %s: %s", self.path, ", ".join(outcome.policies)
            )
            self._count(APPLIED)
            self._audit("RELOADED", f"policies: {', '.join(outcome.policies)}")
            return outcome

    def _apply(self, config: loader.PolicyConfig) -> None:
        new_file = config.policies
        names = {p.name for p in new_file}

        def update(current: tuple[Policy, ...]) -> Iterable[Policy]:
            by_name = {p.name: p for p in current}
            code = [
                p for p in current if p.name not in self._from_file and p.name != ATTRIBUTION_POLICY
            ]
            clash = sorted(names & {p.name for p in code})
            if clash:
                raise PolicyConfigError(
                    f"policy name(s) {clash} are also registered in code (register_policy)",
                    source=str(self.path),
                )
            for policy in new_file:
                adopt = getattr(policy, "adopt", None)
                old = by_name.get(policy.name)
                if old is not None and callable(adopt):
                    adopt(old)
            builtin = AttributionRequired(
                Enforcement.parse(config.defaults.attribution_enforcement)
            )
            return (builtin, *new_file, *code)

        self.engine.swap(update)
        self._from_file = frozenset(names)
        self.engine.policy_defaults = config.defaults.model_dump()
        self.engine.reservation_ttl = float(config.defaults.reservation_ttl)

    def _failed(self, exc: PolicyConfigError) -> PolicyReload:
        message = str(exc)
        if message != self._reported:  # once per distinct error
            self._reported = message
            log.warning("genops: policy reload rejected, the previous policies stay: %s", message)
            self._count(ERROR)
            self._audit("RELOAD_FAILED", message)
        return self._outcome(ERROR, error=exc)

    def _outcome(
        self, result: str, *, error: PolicyConfigError | None = None, notes: tuple[str, ...] = ()
    ) -> PolicyReload:
        names = tuple(p.name for p in self.engine.policies)
        return PolicyReload(result, str(self.path), names, error, notes)

    def _count(self, result: str) -> None:
        if self._counter is not None:
            self._counter.add(1, {A.POLICY_RELOAD_RESULT: result})

    def _audit(self, result: str, reason: str) -> None:
        audit = self.engine.audit
        if audit is None:
            return
        record: dict[str, Any] = {
            "ts": time.time(),
            "operation_name": "genops.policy.reload",
            "operation_type": "policy_reload",
            "policy": str(self.path),
            "result": result,
            "reason": reason[:2000],
        }
        audit.record([record])


def _restart_in_child(ref: weakref.ref[PolicyReloader]) -> None:
    reloader = ref()
    if reloader is None:
        return
    reloader._lock = threading.Lock()  # it may have been held by the parent's thread
    if reloader._stop.is_set():
        return
    reloader._stop = threading.Event()  # its waiters were the parent's threads
    reloader._thread = None
    reloader._start()


def _digest(text: str) -> str:
    import hashlib  # (only when a policy file is read)

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _restart_notes(
    previous: loader.PolicyConfig | None, config: loader.PolicyConfig
) -> tuple[str, ...]:
    if previous is None:
        return ()
    notes = []
    if previous.ledger != config.ledger:
        notes.append("'ledger' changed: it applies after a restart (the current ledger stays)")
    if (previous.audit_sink, previous.audit_sample_allowed) != (
        config.audit_sink,
        config.audit_sample_allowed,
    ):
        notes.append("'audit' changed: it applies after a restart (the current audit log stays)")
    if previous.defaults.ledger_retry_after != config.defaults.ledger_retry_after:
        notes.append("'defaults.ledger_retry_after' changed: it applies after a restart")
    return tuple(notes)
