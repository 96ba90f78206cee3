"""Real Haystack pipelines through GenOpsTracer against the loopback fake OpenAI server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from haystack import Document, Pipeline, tracing
from haystack.components.builders import AnswerBuilder, ChatPromptBuilder
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.dataclasses import ChatMessage
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.utils import Secret

import genops
import genops_haystack
from genops import attributes as A
from tests.langchain.conftest import tree

MODEL = "gpt-4o-mini"


@pytest.fixture
def haystack_on(runtime: genops.GenOps) -> Iterator[genops_haystack.HaystackInstrumentation]:
    handle = genops_haystack.enable()
    yield handle
    handle.disable()


def rag(base_url: str) -> Pipeline:
    store = InMemoryDocumentStore()
    store.write_documents(
        [Document(content="genops governs AI calls."), Document(content="Berlin")]
    )
    template = [
        ChatMessage.from_user(
            "Context: {% for d in documents %}{{ d.content }} {% endfor %}Q: {{question}}"
        )
    ]
    p = Pipeline(metadata={"name": "rag"})
    p.add_component("retriever", InMemoryBM25Retriever(document_store=store))
    p.add_component("prompt", ChatPromptBuilder(template=template, required_variables=["question"]))
    p.add_component(
        "llm",
        OpenAIChatGenerator(
            api_key=Secret.from_token("k"),
            model=MODEL,
            api_base_url=base_url,
            generation_kwargs={"max_completion_tokens": 200},
        ),
    )
    p.add_component("answer", AnswerBuilder())
    p.connect("retriever", "prompt.documents")
    p.connect("prompt.prompt", "llm.messages")
    p.connect("llm.replies", "answer.replies")
    return p


def run(p: Pipeline, question: str = "what does genops do?") -> dict[str, object]:
    return p.run(
        {
            "retriever": {"query": question},
            "prompt": {"question": question},
            "answer": {"query": question},
        }
    )


def test_rag_pipeline_tree_unit_and_rollup(haystack_on, telemetry, fake, base_url) -> None:
    out = run(rag(base_url))
    assert out["answer"]["answers"][0].data
    assert fake.request_count == 1
    spans = telemetry.spans()
    assert tree(spans) == [
        ("answer", "invoke_workflow rag"),
        (f"chat {MODEL}", "invoke_workflow rag"),
        ("invoke_workflow rag", None),
        ("prompt", "invoke_workflow rag"),
        ("retrieval retriever", "invoke_workflow rag"),
    ]
    unit = telemetry.span(f"chat {MODEL}")
    attrs = unit.attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == MODEL
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 200
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 21
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 7
    assert attrs["genops.cost.total"] > 0
    root = telemetry.span("invoke_workflow rag")
    assert root.attributes["genops.rollup.cost.total"] == pytest.approx(attrs["genops.cost.total"])
    assert root.attributes[A.TEAM] == "platform"
    # content is off by default
    assert "haystack.component.input" not in attrs


def test_policy_blocks_before_the_request(make_genops, telemetry, fake, base_url) -> None:
    make_genops(
        policy={
            "version": 1,
            "policies": [{"name": "models", "type": "allowed_models", "models": ["gpt-4o"]}],
        }
    )
    handle = genops_haystack.enable()
    try:
        with pytest.raises(genops.PolicyViolationError):
            run(rag(base_url))
    finally:
        handle.disable()
    assert fake.request_count == 0


async def test_async_pipeline(haystack_on, telemetry, fake, base_url) -> None:
    p = rag(base_url)
    q = "what does genops do?"
    await p.run_async(
        {"retriever": {"query": q}, "prompt": {"question": q}, "answer": {"query": q}}
    )
    assert fake.request_count == 1
    unit = telemetry.span(f"chat {MODEL}")
    assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21
    root = telemetry.span("invoke_workflow rag")
    assert unit.parent.span_id == root.context.span_id


def test_disable_restores_previous_and_reenable(runtime, telemetry, fake, base_url) -> None:
    before = tracing.tracer.actual_tracer
    handle = genops_haystack.enable()
    assert handle.active
    again = genops_haystack.enable()
    assert not handle.active and again.active
    again.disable()
    assert tracing.tracer.actual_tracer is before
    run(rag(base_url))
    assert telemetry.spans() == []
    third = genops_haystack.enable()
    run(rag(base_url))
    third.disable()
    assert len(telemetry.spans()) == 5
    assert tracing.tracer.actual_tracer is before


def test_genops_init_enables_it_through_the_entry_point(
    make_genops, telemetry, fake, base_url
) -> None:
    before = tracing.tracer.actual_tracer
    rt = make_genops(instrument=True)
    assert "haystack" in [e.name for e in rt.integrations]
    assert isinstance(tracing.tracer.actual_tracer, genops_haystack.GenOpsTracer)
    run(rag(base_url))
    assert telemetry.span("invoke_workflow rag")
    genops.shutdown()
    assert tracing.tracer.actual_tracer is before
