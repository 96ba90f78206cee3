"""The LangChain evaluation recipe (docs/sla-and-evaluations.md): an LLM-as-judge chain
scores an answer chain's output, its verdict (an openevals-style dict) is attached to the
answer's unit; the judge's own call is a governed unit of its team."""

from __future__ import annotations

from typing import Any

from langchain_core.output_parsers import JsonOutputParser, StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

import genops
from genops import attributes as A
from genops_langchain import GenOpsCallbackHandler
from tests.conftest import Telemetry
from tests.langchain.fakes import FakeChat, answer


def judge_result(judge: Any, question: str, output: str) -> dict[str, Any]:
    """An LLM-as-judge returning what openevals / LangSmith evaluators return."""
    verdict = judge.invoke({"question": question, "answer": output})
    return {"key": "correctness", "score": verdict["score"], "comment": verdict["reasoning"]}


def test_a_judge_chain_verdict_lands_under_the_answer_unit(
    telemetry: Telemetry, handler: GenOpsCallbackHandler
) -> None:
    answer_chain = (
        ChatPromptTemplate.from_messages([("human", "{question}")])
        | FakeChat.cycling(answer("Refunds take 5 business days.", n=1))
        | StrOutputParser()
    )
    judge = (
        ChatPromptTemplate.from_messages([("human", "Q: {question}\nA: {answer}\nGrade it.")])
        | FakeChat.cycling(
            answer('{"score": 0.9, "reasoning": "matches the policy"}', n=2),
            model="gpt-4o-2024-08-06",
            model_name="gpt-4o",
        )
        | JsonOutputParser()
    )
    config = {"callbacks": [handler]}
    question = "How long do refunds take?"
    with genops.governed("answer", role="rollup") as unit:
        output = answer_chain.invoke({"question": question}, config=config)
    with genops.attribution(team="quality"):
        result = judge_result(judge.with_config(config), question, output)
    score = result["score"]
    genops.record_evaluation(
        result["key"],
        float(score),
        passed=score if isinstance(score, bool) else None,
        threshold=None if isinstance(score, bool) else 0.7,
        explanation=result.get("comment"),
        unit=unit,
        model="gpt-4o-mini",
    )

    spans = telemetry.spans()
    [root] = [s for s in spans if s.attributes.get(A.OPERATION_NAME) == "answer"]
    evaluation = telemetry.span("evaluation correctness")
    assert evaluation.parent is not None and evaluation.parent.span_id == root.context.span_id
    [done] = [e for e in evaluation.events if e.name == A.EVENT_EVALUATION_COMPLETE]
    assert dict(done.attributes) == {
        A.EVAL_METRIC: "correctness",
        A.EVAL_SCORE: 0.9,
        A.EVAL_THRESHOLD: 0.7,
        A.EVAL_PASSED: True,
    }
    [otel] = [e for e in evaluation.events if e.name == A.EVENT_GEN_AI_EVALUATION_RESULT]
    assert otel.attributes[A.GEN_AI_EVALUATION_EXPLANATION] == "matches the policy"
    # the judge's call is a governed, costed unit of team quality
    calls = {
        s.attributes.get(A.GEN_AI_REQUEST_MODEL): s.attributes[A.TEAM]
        for s in spans
        if A.SPEC_VERSION in s.attributes and s.attributes.get(A.GEN_AI_REQUEST_MODEL)
    }
    assert calls == {"gpt-4o-mini": "platform", "gpt-4o": "quality"}
    [point] = telemetry.metrics()[A.METRIC_EVALUATION_SCORE]
    assert point.attributes[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert point.attributes[A.TEAM] == "platform"
