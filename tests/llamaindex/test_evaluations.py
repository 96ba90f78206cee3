"""The evaluation recipe (docs/sla-and-evaluations.md) with a real LlamaIndex evaluator: the verdict
lands under the answer's unit, correlated with the LLM call by gen_ai.response.id, and an
``evaluation`` policy blocks the model once its pass rate fell."""

from __future__ import annotations

import pytest
from llama_index.core.evaluation import FaithfulnessEvaluator
from llama_index.llms.openai import OpenAI

import genops
from genops import attributes as A
from tests.conftest import Telemetry
from tests.llamaindex.conftest import MODEL

CONTEXT = "Refunds are issued within 14 days."


def answer(llm: OpenAI, question: str) -> tuple[genops.GovernedUnit, str, str | None]:
    with genops.governed("answer-ticket", role="rollup") as unit:
        response = llm.complete(f"{CONTEXT}\n\n{question}")
    return unit, response.text, getattr(response.raw, "id", None)


def test_a_llamaindex_verdict_is_attached_to_the_answer_and_feeds_the_policy(
    telemetry: Telemetry, runtime: genops.GenOps, instrumented: object, llm: OpenAI
) -> None:
    genops.register_policy(
        "grounded", type="evaluation", metric="faithfulness", min_pass_rate=0.9,
        min_samples=2, per=["model"],
    )  # fmt: skip
    judge = FaithfulnessEvaluator(llm=llm)
    for question in ("How long do refunds take?", "When is my refund issued?"):
        unit, text, response_id = answer(llm, question)
        verdict = judge.evaluate(query=question, response=text, contexts=[CONTEXT])
        genops.record_evaluation(
            "faithfulness",
            verdict.score or 0.0,
            passed=bool(verdict.passing),
            explanation=verdict.feedback,
            unit=unit,
            model=MODEL,
            response_id=response_id,
        )
    with pytest.raises(genops.PolicyViolationError) as info:
        answer(llm, "Is there a deadline?")
    assert info.value.reason_code == "x_evaluation_below_minimum"

    roots = [s for s in telemetry.spans() if s.name.startswith("answer-ticket")]
    evaluations = [s for s in telemetry.spans() if s.name == "evaluation faithfulness"]
    assert len(evaluations) == 2
    calls = [
        s
        for s in telemetry.spans()
        if s.attributes.get(A.GEN_AI_RESPONSE_ID) and A.SPEC_VERSION in s.attributes
    ]
    for root, evaluation in zip(roots, evaluations, strict=False):
        assert evaluation.parent is not None and evaluation.parent.span_id == root.context.span_id
        [result] = [e for e in evaluation.events if e.name == A.EVENT_GEN_AI_EVALUATION_RESULT]
        response_id = result.attributes[A.GEN_AI_RESPONSE_ID]
        # the id names one of the LLM call spans of that answer: backends can join on it
        assert response_id in {c.attributes[A.GEN_AI_RESPONSE_ID] for c in calls}
        assert result.attributes[A.GEN_AI_EVALUATION_SCORE_LABEL] in ("pass", "fail")
