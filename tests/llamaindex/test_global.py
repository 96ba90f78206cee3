"""enable() / disable(): handlers on the root dispatcher and the gate, nothing left behind;
genops.init() enables the adapter through its entry point."""

from __future__ import annotations

from importlib.metadata import entry_points

from llama_index.core.instrumentation import Dispatcher, get_dispatcher
from llama_index.llms.openai import OpenAI

import genops
import genops_llamaindex
from genops_llamaindex import GenOpsEventHandler, GenOpsSpanHandler
from tests.conftest import Telemetry
from tests.llamaindex.conftest import MODEL


def _ours() -> list[object]:
    root = get_dispatcher()
    return [
        h
        for h in [*root.span_handlers, *root.event_handlers]
        if isinstance(h, GenOpsSpanHandler | GenOpsEventHandler)
    ]


def test_disable_leaves_no_handler_and_no_gate(
    telemetry: Telemetry, runtime: genops.GenOps, llm: OpenAI
) -> None:
    root = get_dispatcher()
    before = (list(root.span_handlers), list(root.event_handlers), Dispatcher.span_enter)
    handle = genops_llamaindex.enable()
    assert handle.active and len(_ours()) == 2
    assert Dispatcher.span_enter is not before[2]
    llm.complete("hi")
    assert len(telemetry.spans()) == 1
    handle.uninstrument()
    handle.uninstrument()  # idempotent
    assert not handle.active
    assert (list(root.span_handlers), list(root.event_handlers), Dispatcher.span_enter) == before
    llm.complete("hi")
    assert len(telemetry.spans()) == 1  # nothing new once disabled


def test_enable_again_replaces_and_disable_ends_open_runs(
    telemetry: Telemetry, runtime: genops.GenOps, llm: OpenAI
) -> None:
    first = genops_llamaindex.enable()
    second = genops_llamaindex.enable()
    assert not first.active and second.active and len(_ours()) == 2
    stream = llm.stream_complete("hi")  # open until read
    assert len(second.instrumentation.tree) == 1
    genops_llamaindex.disable()
    assert _ours() == [] and len(second.instrumentation.tree) == 0
    span = telemetry.span(f"text_completion {MODEL}")
    assert span.attributes["error.type"] == "RuntimeError"
    del stream


def test_init_enables_it_through_the_entry_point(make_genops, telemetry: Telemetry, llm) -> None:
    names = [ep.name for ep in entry_points(group="genops.integrations")]
    assert "llamaindex" in names
    make_genops(instrument={"llamaindex"})
    assert len(_ours()) == 2
    llm.complete("hi")
    assert telemetry.span(f"text_completion {MODEL}").attributes["genops.spec.version"]
    genops.shutdown()
    assert _ours() == []
