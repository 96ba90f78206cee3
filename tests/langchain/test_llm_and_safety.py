"""Text-completion LLM runs (``on_llm_start``), provider mapping, and internal-error safety."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from langchain_core.language_models import FakeListLLM
from langchain_core.language_models.base import LangSmithParams
from langchain_core.outputs import LLMResult

from genops import _safety
from genops import attributes as A
from genops_langchain import PROVIDERS, GenOpsCallbackHandler
from genops_langchain import _extract as X


class InstructLLM(FakeListLLM):
    """A completion model that reports usage in ``llm_output`` (the OpenAI LLM shape)."""

    model_name: str = "gpt-3.5-turbo-instruct"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return LangSmithParams(
            ls_provider="openai", ls_model_name=self.model_name, ls_model_type="llm"
        )

    def _generate(self, prompts: list[str], *args: Any, **kwargs: Any) -> LLMResult:
        result = super()._generate(prompts, *args, **kwargs)
        result.llm_output = {
            "token_usage": {"prompt_tokens": 40, "completion_tokens": 10, "total_tokens": 50},
            "model_name": self.model_name,
        }
        return result


def test_completion_llm_is_a_text_completion_unit(telemetry, handler):
    llm = InstructLLM(responses=["Paris"])
    assert llm.invoke("capital of France?", config={"callbacks": [handler]}) == "Paris"
    span = telemetry.span("text_completion gpt-3.5-turbo-instruct")
    attrs = span.attributes
    assert attrs[A.GEN_AI_OPERATION_NAME] == "text_completion"
    assert attrs[A.OPERATION_TYPE] == "completion"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 40
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 10
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-3.5-turbo-instruct"
    assert attrs[A.COST_TOTAL] > 0
    assert handler.open_runs == 0


@pytest.mark.parametrize(
    ("ls_provider", "expected"),
    [
        ("openai", "openai"),
        ("azure", "azure.ai.openai"),
        ("anthropic", "anthropic"),
        ("bedrock", "aws.bedrock"),
        ("bedrock_converse", "aws.bedrock"),
        ("google_genai", "gcp.gemini"),
        ("google_vertexai", "gcp.vertex_ai"),
        ("mistralai", "mistral_ai"),
        ("xai", "x_ai"),
        ("ollama", "ollama"),  # not in semconv: passed through
    ],
)
def test_ls_provider_maps_to_semconv_provider_names(ls_provider, expected):
    assert X.provider({"ls_provider": ls_provider}) == expected
    assert PROVIDERS.get(ls_provider, ls_provider) == expected


def test_internal_errors_never_break_the_app_outside_tests(telemetry, runtime):
    handler = GenOpsCallbackHandler()
    bad_serialized: Any = ["not", "a", "mapping"]  # LangChain passes a dict or None
    with _safety.raise_internal_errors(False):
        handler.on_tool_start(bad_serialized, "x", run_id=uuid4())
        handler.on_chain_start(bad_serialized, {}, run_id=uuid4())
        handler.on_chat_model_start(bad_serialized, [[]], run_id=uuid4())
        handler.on_chain_end({}, run_id=uuid4())  # an end for a run never seen: ignored
    counts = _safety.error_counts()
    assert counts["langchain on_tool_start"] == 1
    assert counts["langchain on_chain_start"] == 1
    assert counts["langchain on_chat_start"] == 1
    assert handler.open_runs == 0
    # under pytest (the default) the same bug is raised, so it cannot hide
    with pytest.raises(AttributeError):
        handler.on_tool_start(bad_serialized, "x", run_id=uuid4())


def test_cache_creation_and_reasoning_tokens_from_usage_metadata(telemetry, handler):
    from langchain_core.messages import AIMessage

    from tests.langchain.fakes import FakeChat

    reply = AIMessage(
        content="ok",
        usage_metadata={
            "input_tokens": 2000,
            "output_tokens": 300,
            "total_tokens": 2300,
            "input_token_details": {"cache_read": 1200, "cache_creation": 500},
            "output_token_details": {"reasoning": 100},
        },
    )
    model = FakeChat.cycling(reply, provider="anthropic", model_name="claude-sonnet-4-5")
    model.invoke("hi", config={"callbacks": [handler]})
    attrs = telemetry.span("chat claude-sonnet-4-5").attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 2000
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1200
    assert attrs[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 500
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
    assert attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 100
    assert attrs[A.COST_TOTAL] > 0
