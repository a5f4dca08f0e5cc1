"""The chain with LangChain's fake chat models: grounding, citations, streaming, fallbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from bot.app import Services
from bot.study.answering import AnswerService, ComposerSettings
from bot.study.errors import EmptyKnowledgeBase
from ingest.pipeline import ingest
from tests.fakes import BrokenChatModel


@pytest.fixture
def services(make_services: Callable[..., Services], corpus: Path) -> Services:
    s = make_services()
    ingest([corpus], s.settings, s.store, s.embedder)
    return s


def _service(services: Services, llm: BaseChatModel | None, timeout: float = 5.0) -> AnswerService:
    return AnswerService(
        services.retriever, settings=ComposerSettings(min_relevance=0.35), llm=llm, llm_timeout=timeout
    )


async def test_extractive_answer_through_the_chain(services: Services) -> None:
    answer = await _service(services, None).ask("How is recall computed?")
    assert answer.composer == "section" and answer.grounded
    assert "TP / (TP + FN)" in answer.text
    assert answer.citations[0].passage.source.endswith("precision.md")
    assert answer.citations[0].passage.section == "How recall is computed"


async def test_llm_answer_keeps_only_valid_citations(services: Services) -> None:
    llm = FakeListChatModel(responses=["Recall is TP / (TP + FN) [1]. It is about misses [7]."])
    answer = await _service(services, llm).ask("How is recall computed?")
    assert answer.composer == "llm" and answer.grounded
    assert "[1]" in answer.text and "[7]" not in answer.text
    assert [c.n for c in answer.citations] == [1]


async def test_llm_receives_numbered_context_and_grounding_rules(services: Services) -> None:
    seen: list[list[BaseMessage]] = []

    class Recording(FakeListChatModel):
        def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
            seen.append(messages)
            return super()._call(messages, *args, **kwargs)

    await _service(services, Recording(responses=["ok [1]"])).ask("What is dropout?")
    system, human = seen[0]
    assert "only the numbered context passages" in str(system.content)
    assert "do not know" in str(system.content)
    assert "[1] (Dropout regularization" in str(human.content)
    assert "Question: What is dropout?" in str(human.content)


async def test_llm_streams_tokens(services: Services) -> None:
    llm = GenericFakeChatModel(messages=iter([AIMessage(content="Dropout zeroes random units [1].")]))
    pieces: list[str] = []
    answer = await _service(services, llm).ask("What is dropout?", on_token=pieces.append)
    assert len(pieces) > 1 and "".join(pieces) == answer.text == "Dropout zeroes random units [1]."


async def test_llm_error_falls_back_to_extractive_and_says_so(services: Services) -> None:
    answer = await _service(services, BrokenChatModel()).ask("How is recall computed?")
    assert answer.composer == "section" and answer.grounded
    assert answer.notice and "failed" in answer.notice
    assert "TP / (TP + FN)" in answer.text


async def test_llm_timeout_falls_back(services: Services) -> None:
    slow = FakeListChatModel(responses=["too late"], sleep=2.0)
    answer = await _service(services, slow, timeout=0.2).ask("How is recall computed?")
    assert answer.composer == "section" and answer.notice and "timed out" in answer.notice


async def test_no_relevant_context_never_calls_the_llm(services: Services) -> None:
    answer = await _service(services, BrokenChatModel()).ask("What is a good sourdough starter recipe?")
    assert not answer.grounded and answer.notice is None


def test_sync_path_matches_async(services: Services) -> None:
    svc = _service(services, None)
    assert svc.ask_sync("How is recall computed?").text == asyncio.run(svc.ask("How is recall computed?")).text


async def test_empty_store_raises_a_typed_error(make_services: Callable[..., Services]) -> None:
    with pytest.raises(EmptyKnowledgeBase):
        await make_services().answers.ask("What is dropout?")


async def test_model_and_store_work_runs_off_the_event_loop_thread(services: Services) -> None:
    import threading

    loop_thread = threading.get_ident()
    seen: list[int] = []
    embedder, store = services.embedder, services.store
    original_encode, original_query = embedder.encode, store.query

    def encode(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return original_encode(*args, **kwargs)

    def query(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return original_query(*args, **kwargs)

    embedder.encode = encode  # type: ignore[method-assign]
    store.query = query  # type: ignore[method-assign]
    try:
        await _service(services, None).ask("Which question is not in the cache yet about dropout?")
        await services.retriever.aretrieve("another uncached question about recall")
    finally:
        embedder.encode, store.query = original_encode, original_query  # type: ignore[method-assign]
    assert len(seen) == 4 and loop_thread not in seen
