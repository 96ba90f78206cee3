"""The adapter kit: the one public API every framework and SDK adapter is built on.

Adapters import this module and :mod:`genops` — nothing under ``genops._*`` (CI
checks it). What it offers (see ``docs/adapters.md`` for a complete adapter):

=========================  ====================================================
run tree                   :class:`RunTree` — spans and governed units keyed by a
                           framework's own run ids, explicit parents, bounded,
                           roll-ups to ancestors, subtree end on error
governed call (wrapper)    :func:`genops.governed` with ``role="call"`` /
                           ``role="rollup"``
cost ownership             :class:`Claim`, :func:`current_claim`,
                           :func:`handoff` — each provider call counted once,
                           across threads and event loops
streams                    :class:`StreamFinalizer`, :class:`SyncStreamProxy`,
                           :class:`AsyncStreamProxy` — finish exactly once
request text               :func:`payload_texts`, :func:`redact_payload` — every
                           string sent to a provider, for content policies;
                           :func:`input_token_bound` — the reservation's bound
error isolation            :func:`guard`, :func:`report`, :func:`safe_call`,
                           :func:`error_type`, :func:`record_error`
=========================  ====================================================
"""

from genops._record import error_type
from genops._safety import guard, report, safe_call, should_raise
from genops.adapter.payload import input_token_bound, payload_texts, redact_payload
from genops.adapter.streams import (
    AsyncStreamProxy,
    StreamFinalizer,
    StreamRecorder,
    SyncStreamProxy,
)
from genops.adapter.tree import DEFAULT_MAX_OPEN_RUNS, Node, RunEvicted, RunTree, record_error
from genops.claims import Claim, Handoff, current_claim, handoff
from genops.lifecycle import ROLE_CALL, ROLE_ROLLUP

__all__ = [
    "DEFAULT_MAX_OPEN_RUNS",
    "ROLE_CALL",
    "ROLE_ROLLUP",
    "AsyncStreamProxy",
    "Claim",
    "Handoff",
    "Node",
    "RunEvicted",
    "RunTree",
    "StreamFinalizer",
    "StreamRecorder",
    "SyncStreamProxy",
    "current_claim",
    "error_type",
    "guard",
    "handoff",
    "input_token_bound",
    "payload_texts",
    "record_error",
    "redact_payload",
    "report",
    "safe_call",
    "should_raise",
]
