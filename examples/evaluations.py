"""Evaluations: a LlamaIndex evaluator scores each answer, genops attaches the verdict to
the answer's unit, and a policy blocks the model once its faithfulness pass rate falls.

    uv run python examples/evaluations.py

Offline: both the answering model and the judge are served by genops' loopback demo
provider, which answers every prompt with the same sentence — so the judge never says
"YES", every answer fails the faithfulness check, and after three failures the
``grounded-answers`` policy (pass rate >= 90 % over the last hour, per model) blocks the
next call to that model before it is sent. The judge's own calls are governed units too
(team ``quality``), so what evaluation costs is attributed like any other call.
"""

from __future__ import annotations

from llama_index.core.evaluation import FaithfulnessEvaluator
from llama_index.llms.openai import OpenAI

import genops
from genops.demo import FakeProvider
from genops.store import LocalStore, Query, spend

ANSWER_MODEL = "gpt-4o-mini"
POLICY = {
    "version": 1,
    "policies": [
        {
            "name": "grounded-answers",
            "type": "evaluation",
            "metric": "faithfulness",
            "min_pass_rate": 0.9,
            "min_samples": 3,
            "window": "1h",
            "per": ["model"],
            "scope": {"team": "support"},
        }
    ],
}
CONTEXT = "Refunds are issued within 14 days of the return reaching our warehouse."
QUESTIONS = [
    "How long do refunds take?",
    "When is my refund issued?",
    "Do I get my money back after a return?",
    "Is there a refund deadline?",
]


def main() -> None:
    with FakeProvider() as fake:
        genops.init(
            service_name="evaluations-example", project="helpdesk", policy=POLICY, local_store=True
        )
        llm = OpenAI(model=ANSWER_MODEL, api_key="sk-demo", api_base=f"{fake.url}/v1")
        judge = FaithfulnessEvaluator(
            llm=OpenAI(model="gpt-4o", api_key="sk-demo", api_base=f"{fake.url}/v1")
        )
        for question in QUESTIONS:
            try:
                # the unit the evaluation is attached to: the answer step (the LLM call
                # inside it is the cost-bearing unit genops-llamaindex opens)
                with (
                    genops.attribution(team="support"),
                    genops.governed("answer-ticket", role="rollup") as unit,
                ):
                    response = llm.complete(f"{CONTEXT}\n\nQuestion: {question}")
            except genops.PolicyViolationError as err:
                why = f"{err.reason_code} by {err.policy_name!r}"
                print(f"{question!r}: blocked before sending: {why}")
                continue
            with genops.attribution(team="quality"):  # the judge's calls: team quality
                verdict = judge.evaluate(query=question, response=response.text, contexts=[CONTEXT])
            genops.record_evaluation(
                "faithfulness",
                verdict.score or 0.0,
                passed=bool(verdict.passing),
                explanation=verdict.feedback,
                unit=unit,  # finished: the events go on a child span of the unit
                model=ANSWER_MODEL,  # the model the policy judges (per: model)
                response_id=getattr(response.raw, "id", None),  # the call's gen_ai.response.id
            )
            print(f"{question!r}: faithfulness {verdict.score} passed={verdict.passing}")
        genops.shutdown()
        print(f"requests the provider received: {fake.requests}")
    store = LocalStore(readonly=True)
    for row in spend(store, Query.last("10m", by=("team", "model"))):
        print(f"{row['team']:<8} {row['model']:<12} {row['calls']} calls  ${row['cost']:.6f}")
    store.close()


if __name__ == "__main__":
    main()
