"""Global registration through LangChain's configure hook: enable(), genops.init(), undo."""

from __future__ import annotations

import threading

from langchain_core.prompts import ChatPromptTemplate

import genops
import genops_langchain
from genops.integrations import available
from genops_langchain import GenOpsCallbackHandler
from tests.langchain.fakes import FakeChat, answer

PROMPT = ChatPromptTemplate.from_messages([("human", "{question}")])


def chain():
    return (PROMPT | FakeChat.cycling(answer("ok"))).with_config(run_name="ask")


def names(telemetry) -> list[str]:
    return sorted(s.name for s in telemetry.spans())


EXPECTED = ["ChatPromptTemplate", "chat gpt-4o-mini", "invoke_workflow ask"]


def test_enable_covers_every_run_without_callbacks_and_uninstrument_stops(telemetry, runtime):
    handle = genops_langchain.enable()
    try:
        assert handle.active
        chain().invoke({"question": "q"})
        assert names(telemetry) == EXPECTED
    finally:
        handle.uninstrument()
    assert not handle.active
    telemetry.exporter.clear()
    chain().invoke({"question": "q"})
    assert telemetry.spans() == []
    handle.uninstrument()  # idempotent


def test_enabled_handler_covers_plain_threads(telemetry, runtime):
    """A thread started without a copy of the context (a web server's worker) is covered."""
    handle = genops_langchain.enable()
    try:
        worker = threading.Thread(target=lambda: chain().invoke({"question": "q"}))
        worker.start()
        worker.join()
    finally:
        handle.uninstrument()
    assert names(telemetry) == EXPECTED


def test_explicit_handler_is_not_duplicated_by_the_global_one(telemetry, runtime):
    handle = genops_langchain.enable()
    try:
        chain().invoke({"question": "q"}, config={"callbacks": [GenOpsCallbackHandler()]})
    finally:
        handle.uninstrument()
    assert names(telemetry) == EXPECTED


async def test_genops_init_enables_the_integration_and_shutdown_disables_it(telemetry, make_genops):
    assert "langchain" in available()
    rt = make_genops(instrument=["langchain"])
    assert [i.name for i in rt.integrations] == ["langchain"]
    handle = rt.integrations[0].handle
    assert handle.active and handle.handler.runtime is rt
    await chain().ainvoke({"question": "q"})
    assert names(telemetry) == EXPECTED
    # init again reconfigures: the old handler is replaced, not stacked
    rt2 = make_genops(instrument=["langchain"])
    handle2 = rt2.integrations[0].handle
    assert handle2.active and not handle.active
    telemetry.exporter.clear()
    chain().invoke({"question": "q"})
    assert names(telemetry) == EXPECTED
    genops.shutdown()
    assert not handle2.active
    telemetry.exporter.clear()
    chain().invoke({"question": "q"})
    assert telemetry.spans() == []
