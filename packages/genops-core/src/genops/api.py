"""The public entry points built on the lifecycle: ``governed``, ``track_usage``,
``enforce_policy`` and ``register_policy``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry.trace import Span, SpanKind

from genops.attribution import Attribution, attribution
from genops.decision import X_CUSTOM_POLICY, PolicyDecision
from genops.estimate import RequestEstimate
from genops.lifecycle import GovernedUnit
from genops.policy.base import Enforcement, Policy, UnitRequest
from genops.policy.engine import BudgetStatus, CallablePolicy
from genops.policy.reload import PolicyReload
from genops.rollup import Rollup
from genops.runtime import get_runtime
from genops.sla import SLA

F = TypeVar("F", bound=Callable[..., Any])


def governed(
    operation_name: str,
    operation_type: str = "inference",
    *,
    provider: str | None = None,
    model: str | None = None,
    request: RequestEstimate | None = None,
    gen_ai_operation: str | None = None,
    kind: SpanKind | None = None,
    attributes: dict[str, Any] | None = None,
    region: str | None = None,
    parent: otel_context.Context | Span | None = None,
    rollup: Rollup | None = None,
    attribution: Attribution | None = None,
    span_name: str | None = None,
    policies: frozenset[str] | None = None,
    metadata: dict[str, Any] | None = None,
    role: str | None = None,
    sla: SLA | None = None,
) -> GovernedUnit:
    """Create one AI Workload Unit; use it as a (sync or async) context manager.

    ::

        estimate = genops.RequestEstimate(input_tokens=1200, max_output_tokens=400)
        with genops.governed("summarise", provider="anthropic", model="claude-sonnet-4-5",
                             request=estimate) as unit:
            msg = client.messages.create(...)
            unit.record_usage(raw=msg.usage, response_model=msg.model)

    ``role`` says what the unit is: ``"call"`` — one cost-bearing provider call (span
    kind CLIENT; it owns the cost of SDK calls made inside it), or ``"rollup"`` — a
    parent (a workflow step, a decorated function) governed by policy that carries
    the roll-up of the units beneath it and accounts 0 itself. Left ``None``, a unit
    with a ``model`` is a call and one without is a roll-up parent.

    ``sla=genops.SLA("premium", latency_target_ms=2000)`` holds this unit to a latency
    target (over :func:`genops.sla_boundary` and ``type: sla`` policies; see
    :mod:`genops.sla`).
    """
    return GovernedUnit(
        get_runtime(),
        operation_name,
        operation_type=operation_type,
        provider=provider,
        model=model,
        request=request,
        gen_ai_operation=gen_ai_operation,
        kind=kind,
        attributes=attributes,
        region=region,
        parent=parent,
        rollup=rollup,
        attribution=attribution,
        span_name=span_name,
        only_policies=policies,
        metadata=metadata,
        role=role,
        sla=sla,
    )


def _attribution_kwargs(
    team: str | None, project: str | None, customer_id: str | None, feature: str | None
) -> Attribution | None:
    a = Attribution(team=team, project=project, customer_id=customer_id, feature=feature)
    return a if a.as_dict() else None


def _wrap(
    fn: F,
    operation_name: str | None,
    operation_type: str,
    unit_kwargs: dict[str, Any],
) -> F:
    if not callable(fn):
        raise TypeError("the decorated object must be callable")
    name = operation_name or getattr(fn, "__qualname__", None) or repr(fn)

    def make() -> GovernedUnit:
        return governed(name, operation_type, **unit_kwargs)

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            unit = make().start()
            error: BaseException | None = None
            try:
                gen = fn(*args, **kwargs)
                while True:
                    unit.activate()
                    try:
                        item = await gen.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        unit._deactivate()
                    yield item
            except BaseException as exc:
                error = exc
                raise
            finally:
                unit.finish(error)

        return cast(F, agen_wrapper)

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            unit = make().start()
            error: BaseException | None = None
            try:
                gen = fn(*args, **kwargs)
                while True:
                    unit.activate()
                    try:
                        item = next(gen)
                    except StopIteration as stop:
                        return stop.value  # type: ignore[no-any-return]
                    finally:
                        unit._deactivate()
                    yield item
            except BaseException as exc:
                error = exc
                raise
            finally:
                unit.finish(error)

        return cast(F, gen_wrapper)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            # The unit opens when the coroutine *runs*, not when it is created, and
            # closes after the body has finished (the original SDK closed it before).
            async with make():
                return await fn(*args, **kwargs)

        return cast(F, async_wrapper)

    @functools.wraps(fn)
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        with make():
            return fn(*args, **kwargs)

    return cast(F, sync_wrapper)


def track_usage(
    operation_name: str | None = None,
    operation_type: str = "function",
    *,
    provider: str | None = None,
    model: str | None = None,
    team: str | None = None,
    project: str | None = None,
    customer_id: str | None = None,
    feature: str | None = None,
    request: RequestEstimate | None = None,
    attributes: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Decorate a sync, async, generator or async-generator function as a governed unit.

    ::

        @genops.track_usage("answer-ticket", team="support", feature="auto-reply")
        async def answer(ticket):
            return await client.chat.completions.create(...)   # a child unit, rolled up

    Without ``model`` the function is a workflow-level unit: its span carries the
    ``genops.rollup.*`` totals of the provider calls made inside it.
    """
    if operation_name is not None and not isinstance(operation_name, str):
        if callable(operation_name):
            raise TypeError("use @track_usage() or @track_usage('name'), not bare @track_usage")
        raise TypeError("operation_name must be a str")
    unit_kwargs = {
        "provider": provider,
        "model": model,
        "request": request,
        "attributes": attributes,
        "attribution": _attribution_kwargs(team, project, customer_id, feature),
    }

    def decorator(fn: F) -> F:
        return _wrap(fn, operation_name, operation_type, unit_kwargs)

    return decorator


def enforce_policy(
    *policy_names: str,
    operation_name: str | None = None,
    operation_type: str = "function",
    provider: str | None = None,
    model: str | None = None,
    request: RequestEstimate | None = None,
) -> Callable[[F], F]:
    """Evaluate the named registered policies (all when none are named) before the function.

    A BLOCKED decision raises :class:`genops.PolicyViolationError` and the function
    body never runs::

        @genops.enforce_policy("approved-models", model="gpt-4o")
        def draft(prompt): ...
    """
    for n in policy_names:
        if not isinstance(n, str) or not n:
            raise TypeError("policy names must be non-empty strings")
    unit_kwargs = {
        "provider": provider,
        "model": model,
        "request": request,
        "policies": frozenset(policy_names) if policy_names else None,
    }

    def decorator(fn: F) -> F:
        return _wrap(fn, operation_name, operation_type, unit_kwargs)

    return decorator


def register_policy(
    policy: Policy | str,
    check: Callable[[UnitRequest], bool | PolicyDecision | None] | None = None,
    *,
    reason_code: str = X_CUSTOM_POLICY,
    enforcement: Enforcement | str = Enforcement.BLOCKED,
    reason: str | None = None,
    replace: bool = False,
    **spec: Any,
) -> Policy:
    """Register a policy with the running engine and return it.

    Three forms::

        genops.register_policy(my_policy_object)
        genops.register_policy("no-gpt4", lambda r: r.model != "gpt-4",
                               reason_code="POLICY_DENY_MODEL", enforcement="WARNING")
        genops.register_policy("approved", type="allowed_models", models=["gpt-4o-mini"])

    The third form builds the same objects as a policy file (see the policy docs).
    """
    runtime = get_runtime()
    engine = runtime.engine
    add = getattr(engine, "add", None)
    if not callable(add):
        raise TypeError(
            f"the configured policy engine {type(engine).__name__} does not accept policies"
        )
    built: Policy
    if isinstance(policy, str):
        if check is not None:
            built = CallablePolicy(
                policy, check, reason_code, enforcement=enforcement, reason=reason
            )
        elif "type" in spec:
            from genops.policy import loader

            built = loader.build_policy(
                {"name": policy, "enforcement": str(enforcement), **spec},
                defaults=getattr(engine, "policy_defaults", None),
            )
        else:
            raise TypeError("register_policy(name, ...) needs check= or type= (a policy type)")
    else:
        if check is not None or spec:
            raise TypeError("pass either a policy object or a name with check=/type=")
        built = policy
    add(built, replace=replace)
    return built


def budget_status(name: str, **per: str) -> BudgetStatus:
    """Consumed / reserved / remaining of a budget (or rate limit) for one key, now.

    ::

        status = genops.budget_status("support-monthly", team="support")
        print(f"{status.consumed:.2f} of {status.limit:.2f} {status.unit} ({status.period})")

    Pass one keyword per field in the policy's ``per`` list. Raises ``KeyError`` for
    an unknown policy and :class:`genops.ledger.LedgerUnavailable` when the ledger
    cannot be read.
    """
    engine = get_runtime().engine
    status = getattr(engine, "budget_status", None)
    if not callable(status):
        raise TypeError(
            f"the configured policy engine {type(engine).__name__} does not keep budgets"
        )
    result: BudgetStatus = status(name, **per)
    return result


def reload_policies() -> PolicyReload:
    """Re-read the policy file given to ``genops.init(policy=<path>)`` now.

    ::

        outcome = genops.reload_policies()
        if not outcome.ok:
            print("kept the previous policies:", outcome.error)

    The new policies replace the old ones in one step when the file is valid; an invalid
    file keeps the old ones (reported once: log, ``genops.policy.reloads``, audit). Raises
    ``RuntimeError`` when genops was not initialised with a policy file path.
    """
    reloader = get_runtime().policy_reloader
    if reloader is None:
        raise RuntimeError(
            "no policy file to reload: call genops.init(policy='<path to policy.yaml>')"
        )
    return reloader.reload()


__all__ = [
    "attribution",
    "budget_status",
    "enforce_policy",
    "governed",
    "register_policy",
    "reload_policies",
    "track_usage",
]
