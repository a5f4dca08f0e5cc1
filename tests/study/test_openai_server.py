"""The real langchain-openai client against an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import Services
from bot.metrics import Metrics
from bot.settings import LLMProvider
from bot.study.answering import AnswerService, ComposerSettings
from bot.study.llm import make_chat_model
from ingest.pipeline import ingest
from tests.conftest import free_port
from tests.fakes import loopback_server, openai_completion

REPLY = "Recall is TP / (TP + FN) [1]."


class FakeOpenAI:
    """Chat completions: plain, streamed (SSE), a 500, or too slow, chosen by the model name."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        model = body["model"]
        if model == "broken":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        if model == "slow":
            await asyncio.sleep(5)
        if body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            for word in REPLY.split(" "):
                chunk = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {"index": 0, "delta": {"role": "assistant", "content": word + " "}, "finish_reason": None}
                    ],
                }
                await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            return resp
        return web.json_response(openai_completion(model, REPLY))


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    async with loopback_server(app) as url:
        yield fake, f"{url}/v1"


@pytest.fixture
def services(make_services: Callable[..., Services], corpus: Path) -> Services:
    s = make_services()
    ingest([corpus], s.settings, s.store, s.embedder)
    return s


def _answers(
    services: Services, base_url: str, model: str, timeout: float = 3.0, metrics: Metrics | None = None
) -> AnswerService:
    settings = services.settings.model_copy(
        update={
            "llm_provider": LLMProvider.openai,
            "llm_model": model,
            "llm_base_url": base_url,
            "llm_timeout": timeout,
        }
    )
    llm = make_chat_model(settings)
    return AnswerService(
        services.retriever, settings=ComposerSettings(min_relevance=0.35), llm=llm, llm_timeout=timeout, metrics=metrics
    )


async def test_normal_reply(server: tuple[FakeOpenAI, str], services: Services) -> None:
    fake, url = server
    answer = await _answers(services, url, "tiny").ask("How is recall computed?")
    assert answer.composer == "llm" and answer.text == REPLY and answer.citations[0].n == 1
    body = fake.requests[0]["body"]
    assert body["model"] == "tiny" and body["messages"][0]["role"] == "system"
    assert "TP / (TP + FN)" in body["messages"][1]["content"]  # the retrieved context went out


async def test_streamed_reply(server: tuple[FakeOpenAI, str], services: Services) -> None:
    fake, url = server
    pieces: list[str] = []
    answer = await _answers(services, url, "tiny").ask("How is recall computed?", on_token=pieces.append)
    assert fake.requests[0]["body"]["stream"] is True
    assert len(pieces) >= 5 and answer.text == REPLY and answer.composer == "llm"


async def test_server_error_falls_back(server: tuple[FakeOpenAI, str], services: Services) -> None:
    fake, url = server
    answer = await _answers(services, url, "broken").ask("How is recall computed?")
    assert answer.composer == "section" and answer.notice and "failed" in answer.notice
    assert len(fake.requests) == 1  # no retries: the learner is not kept waiting


async def test_timeout_falls_back(server: tuple[FakeOpenAI, str], services: Services) -> None:
    _, url = server
    started = time.perf_counter()
    answer = await _answers(services, url, "slow", timeout=0.5).ask("How is recall computed?")
    assert time.perf_counter() - started < 3
    assert answer.composer == "section" and answer.notice and "timed out" in answer.notice


async def test_server_down_falls_back_then_recovers(services: Services) -> None:
    """Nothing listening (the LLM server is down): extractive answers, counted; then it comes back."""
    port = free_port()
    metrics = Metrics()
    answers = _answers(services, f"http://127.0.0.1:{port}/v1", "tiny", metrics=metrics)
    down = await answers.ask("How is recall computed?")
    assert down.composer == "section" and "TP / (TP + FN)" in down.text
    assert down.notice and "failed" in down.notice
    assert metrics.registry.get_sample_value("studybot_llm_fallbacks_total") == 1

    fake = FakeOpenAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    async with loopback_server(app, port):
        back = await answers.ask("How is recall computed?")
    assert back.composer == "llm" and back.text == REPLY and not back.notice
    assert metrics.registry.get_sample_value("studybot_llm_fallbacks_total") == 1


async def test_api_key_is_sent_but_never_logged(
    server: tuple[FakeOpenAI, str], services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = server
    caplog.set_level("DEBUG")
    settings = services.settings.model_copy(
        update={
            "llm_provider": LLMProvider.openai,
            "llm_model": "tiny",
            "llm_base_url": url,
        }
    )
    from pydantic import SecretStr

    settings = settings.model_copy(update={"llm_api_key": SecretStr("sk-very-secret")})
    svc = AnswerService(
        services.retriever, settings=ComposerSettings(min_relevance=0.35), llm=make_chat_model(settings)
    )
    await svc.ask("How is recall computed?")
    assert fake.requests[0]["headers"]["Authorization"] == "Bearer sk-very-secret"
    assert "sk-very-secret" not in caplog.text
