"""The real langchain-ollama client against a fake Ollama server on 127.0.0.1 (NDJSON /api/chat)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import Services
from bot.settings import LLMProvider
from bot.study.answering import AnswerService, ComposerSettings
from bot.study.llm import make_chat_model
from ingest.pipeline import ingest
from tests.fakes import loopback_server, ollama_reply

WORDS = ["Recall", "is", "TP", "/", "(TP", "+", "FN)", "[1]."]


class FakeOllama:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if body["model"] == "down":
            return web.Response(status=500, text="model crashed")
        if body["model"] == "slow":
            await asyncio.sleep(5)
        return await ollama_reply(request, body["model"], [word + " " for word in WORDS])


@pytest.fixture
async def ollama() -> AsyncIterator[tuple[FakeOllama, str]]:
    fake = FakeOllama()
    app = web.Application()
    app.router.add_post("/api/chat", fake.chat)
    async with loopback_server(app) as url:
        yield fake, url


@pytest.fixture
def services(make_services: Callable[..., Services], corpus: Path) -> Services:
    s = make_services()
    ingest([corpus], s.settings, s.store, s.embedder)
    return s


def _answers(services: Services, url: str, model: str, timeout: float = 3.0) -> AnswerService:
    settings = services.settings.model_copy(
        update={"llm_provider": LLMProvider.ollama, "llm_model": model, "llm_base_url": url, "llm_timeout": timeout}
    )
    return AnswerService(
        services.retriever,
        settings=ComposerSettings(min_relevance=0.35),
        llm=make_chat_model(settings),
        llm_timeout=timeout,
    )


async def test_ollama_streams_a_grounded_answer(ollama: tuple[FakeOllama, str], services: Services) -> None:
    fake, url = ollama
    pieces: list[str] = []
    answer = await _answers(services, url, "llama3.1:8b").ask("How is recall computed?", on_token=pieces.append)
    assert answer.composer == "llm" and answer.text == "Recall is TP / (TP + FN) [1]."
    assert len(pieces) >= len(WORDS) and [c.n for c in answer.citations] == [1]
    assert fake.requests[0]["model"] == "llama3.1:8b"
    assert "TP / (TP + FN)" in fake.requests[0]["messages"][-1]["content"]


async def test_ollama_failure_and_timeout_fall_back(ollama: tuple[FakeOllama, str], services: Services) -> None:
    _, url = ollama
    failed = await _answers(services, url, "down").ask("How is recall computed?")
    assert failed.composer == "section" and failed.notice and "failed" in failed.notice
    slow = await _answers(services, url, "slow", timeout=0.5).ask("How is recall computed?")
    assert slow.composer == "section" and slow.notice and "timed out" in slow.notice
