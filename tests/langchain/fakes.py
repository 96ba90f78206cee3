"""Real langchain-core parts for the tests: a priced fake chat model, a retriever, tools."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, tool
from pydantic import Field

#: Usage the fake provider reports for one answer (LangChain usage_metadata shape).
USAGE = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "total_tokens": 1200,
    "input_token_details": {"cache_read": 400},
    "output_token_details": {"reasoning": 50},
}


def answer(
    text: str,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    n: int = 1,
    model: str = "gpt-4o-mini-2024-07-18",
) -> AIMessage:
    """An AIMessage as a provider integration would build it (usage + response metadata)."""
    return AIMessage(
        content=text,
        tool_calls=tool_calls or [],
        usage_metadata=USAGE,  # type: ignore[arg-type]
        response_metadata={
            "model_name": model,
            "finish_reason": "tool_calls" if tool_calls else "stop",
            "id": f"chatcmpl-{n}",
        },
    )


class FakeChat(GenericFakeChatModel):
    """``GenericFakeChatModel`` that declares an OpenAI model (so it is priced), counts
    calls, binds tools, and streams usage on its final chunk (like ``stream_usage``)."""

    model_name: str = "gpt-4o-mini"
    provider: str = "openai"
    max_tokens: int | None = None
    stats: dict[str, int] = Field(default_factory=lambda: {"calls": 0})
    lock: Any = Field(default_factory=threading.Lock, exclude=True)

    @classmethod
    def cycling(cls, *messages: AIMessage, **kwargs: Any) -> FakeChat:
        return cls(messages=itertools.cycle(messages), **kwargs)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=self.provider, ls_model_name=self.model_name, ls_model_type="chat"
        )
        if self.max_tokens is not None:
            params["ls_max_tokens"] = self.max_tokens
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self.lock:
            self.stats["calls"] += 1
        return super()._generate(messages, stop, run_manager, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._generate(messages, stop, run_manager, **kwargs).generations[0].message
        assert isinstance(message.content, str)
        words = message.content.split(" ")
        for i, word in enumerate(words):
            last = i == len(words) - 1
            chunk = AIMessageChunk(
                content=word if last else word + " ",
                id=message.id,
                usage_metadata=message.usage_metadata if last else None,  # type: ignore[attr-defined]
                response_metadata=message.response_metadata if last else {},
                chunk_position="last" if last else None,
            )
            gen = ChatGenerationChunk(message=chunk)
            if run_manager:
                run_manager.on_llm_new_token(chunk.content, chunk=gen)  # type: ignore[arg-type]
            yield gen

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        names = [t.name if isinstance(t, BaseTool) else str(t) for t in tools]
        return self.bind(tool_names=names, **kwargs)


class KeywordRetriever(BaseRetriever):
    """A small real retriever: documents sharing a word with the query, in order."""

    documents: list[Document]
    k: int = 2

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        words = {w.lower().strip("?.,") for w in query.split()}
        hits = [d for d in self.documents if words & set(d.page_content.lower().split())]
        return hits[: self.k]


DOCS = [
    Document(page_content="refunds are processed within 5 business days"),
    Document(page_content="shipping is free above 50 euros"),
    Document(page_content="refunds need the original receipt"),
]


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"10:00 in {city}"


def tool_call(name: str, city: str, call_id: str) -> dict[str, Any]:
    return {"name": name, "args": {"city": city}, "id": call_id, "type": "tool_call"}


Factory = Callable[..., FakeChat]
