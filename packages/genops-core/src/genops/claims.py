"""Cost ownership as explicit claims: exactly one cost-bearing record per provider call.

A unit that owns the cost of provider calls made beneath it hands out a
:class:`Claim`. The SDK layer (genops-native, Bedrock, Gemini, …) asks for the
current claim before it opens a unit of its own; when there is one it adds the
provider call's usage to the claim instead of opening a second cost-bearing span::

    claim = genops.adapter.current_claim()
    if claim is not None:
        response = send()
        claim.add_provider_call(usage, provider="openai", model=response.model)

A claim is per *call site*, not per unit: a framework LLM run inside a user's own
``genops.governed(..., model=...)`` block gets a :meth:`Claim.sub_claim` of the
user's claim, which counts the provider calls made under that run alone — so two
parallel runs each know whether the SDK layer already accounted for them, and the
owner's usage is the sum of every provider call, counted once.

Claims live in a context variable. Framework callbacks that run inline (LangChain)
bind one with :meth:`Claim.bind`; a framework that switches threads or event loops
carries it with :meth:`Claim.activated` or :func:`handoff`.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from genops.lifecycle import GovernedUnit
    from genops.usage import Usage

P = ParamSpec("P")
R = TypeVar("R")

_current: contextvars.ContextVar[Claim | None] = contextvars.ContextVar(
    "genops_claim", default=None
)


class Claim:
    """The right to account provider calls to ``owner``.

    ``issuer`` is who handed the claim out: ``None`` for a unit the user opened, else
    the adapter (its :class:`~genops.adapter.RunTree`). A framework run that starts
    under a claim is covered by it unless the claim is its own adapter's (a second
    LangChain run while the first one's stream is still being read is a call of its
    own, not part of the first).
    """

    __slots__ = ("_closed", "_lock", "_provider_calls", "_span", "issuer", "owner", "previous")

    def __init__(
        self,
        owner: GovernedUnit,
        *,
        issuer: object | None = None,
        previous: Claim | None = None,
        span: Span | None = None,
    ) -> None:
        self.owner = owner
        self.issuer = issuer
        self._span = span
        #: The claim that was current when this one was bound (restored when it closes).
        self.previous = previous
        self._provider_calls = 0
        self._closed = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """True while the claim may take provider calls (not closed, owner running)."""
        return not self._closed and self.owner.is_open

    @property
    def provider_calls(self) -> int:
        """Provider calls accounted through this claim (not through its sub-claims)."""
        return self._provider_calls

    @property
    def span(self) -> Span:
        """The span the provider calls made under this claim nest in: the framework
        run's own span for a sub-claim, else the owner's. The SDK layer makes it current
        while it sends, so spans the SDK (or its HTTP client) emits nest under it."""
        return self._span if self._span is not None else self.owner.span

    @property
    def redact(self) -> Callable[[str], str] | None:
        """The content policy's redaction for outgoing text, if the owner has one."""
        fn = self.owner.redact
        return fn if callable(fn) else None

    def add_provider_call(
        self, usage: Usage | None, *, provider: str | None = None, model: str | None = None
    ) -> None:
        """Account one provider call (its usage priced with its own provider/model)."""
        with self._lock:
            self._provider_calls += 1
        self.owner.add_provider_call(usage, provider=provider, model=model)

    def sub_claim(self, issuer: object | None = None, *, span: Span | None = None) -> Claim:
        """A claim on the same owner that counts its own provider calls (one framework
        run, whose own ``span`` the calls nest in)."""
        return Claim(self.owner, issuer=issuer, previous=self, span=span)

    def close(self) -> None:
        """No further provider calls through this claim; the previous one is current again.

        Where it is the current claim (bound by :meth:`bind` in this context), the
        previous open claim becomes current now, so the context variable does not keep
        a finished unit (and its span) alive until the next bind.
        """
        self._closed = True
        if _current.get() is self:
            previous = self.previous
            while previous is not None and not previous.is_open:
                previous = previous.previous
            _current.set(previous)

    def bind(self) -> None:
        """Make this the current claim in the calling context, without a matching reset.

        For framework callbacks that run inline in the caller's context (LangChain):
        the callback that would reset it may never come, and a closed claim hands
        over to :attr:`previous`, so binding is safe.
        """
        if self.previous is None:
            prev = current_claim()
            if prev is not self:
                self.previous = prev
        _current.set(self)

    @contextmanager
    def activated(self) -> Iterator[Claim]:
        """Make this the current claim inside the block (any thread or task)::

        with tree.claim(run_id).activated():
            llm_client.chat(...)   # the SDK layer accounts to the framework's unit
        """
        token = _current.set(self)
        try:
            yield self
        finally:
            try:
                _current.reset(token)
            except ValueError:  # reset from another context: leave the variable as is
                pass


def current_claim(*, issued_by_other_than: object | None = None) -> Claim | None:
    """The open claim provider calls made now are accounted to, if any.

    An adapter asking on behalf of a framework run that is about to start passes
    itself as ``issued_by_other_than``: its own claims (runs still open in the same
    context) are skipped, so only a unit the user — or another framework — opened
    covers the run.
    """
    claim = _current.get()
    while claim is not None and (
        not claim.is_open
        or (issued_by_other_than is not None and claim.issuer is issued_by_other_than)
    ):
        claim = claim.previous
    return claim


def set_claim(claim: Claim | None) -> contextvars.Token[Claim | None]:
    """Set the current claim; undo with :func:`reset_claim` (context-manager units)."""
    return _current.set(claim)


def reset_claim(token: contextvars.Token[Claim | None]) -> None:
    """Undo :func:`set_claim` (tolerates a token from another context)."""
    try:
        _current.reset(token)
    except ValueError:
        pass


class Handoff:
    """The caller's context (claim, OpenTelemetry span, attribution, roll-up) captured
    once, to run work in on another thread or event loop::

        hand = genops.adapter.handoff()
        pool.submit(hand.run, agent.step, task)     # the step's SDK calls see the claim
    """

    __slots__ = ("_context",)

    def __init__(self) -> None:
        self._context = contextvars.copy_context()

    def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn`` in a copy of the captured context (safe to use concurrently)."""
        return self._context.copy().run(fn, *args, **kwargs)

    def wrap(self, fn: Callable[P, R]) -> Callable[P, R]:
        """``fn`` bound to the captured context (for executors and callbacks)."""

        def bound(*args: P.args, **kwargs: P.kwargs) -> R:
            return self.run(fn, *args, **kwargs)

        return bound


def handoff() -> Handoff:
    """Capture the current context for work that another thread or loop will do."""
    return Handoff()


__all__ = ["Claim", "Handoff", "current_claim", "handoff", "reset_claim", "set_claim"]
