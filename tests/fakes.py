"""Small fakes shared by several test modules: a chat model whose server is down, a loopback server,
and the reply bodies of the OpenAI-compatible and Ollama chat APIs that the fake LLM servers send."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from tests.conftest import free_port


class BrokenChatModel(BaseChatModel):
    """A chat model whose server is down."""

    @property
    def _llm_type(self) -> str:
        return "broken"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise ConnectionError("connection refused")


@asynccontextmanager
async def loopback_server(app: web.Application, port: int | None = None) -> AsyncIterator[str]:
    """Serve an aiohttp app on 127.0.0.1 (on ``port``, or a free one) and yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = port or free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def openai_completion(model: str, content: str) -> dict[str, Any]:
    """A non-streamed OpenAI-compatible chat completion that says ``content``."""
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


async def ollama_reply(request: web.Request, model: str, pieces: Sequence[str]) -> web.StreamResponse:
    """An Ollama /api/chat reply streamed as NDJSON: one line per piece, then the final "done" line."""
    resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await resp.prepare(request)
    base = {"model": model, "created_at": "2026-12-03T00:00:00Z"}
    for piece in pieces:
        line = {**base, "message": {"role": "assistant", "content": piece}, "done": False}
        await resp.write((json.dumps(line) + "\n").encode())
    final = {
        **base,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": 1,
        "eval_count": len(pieces),
        "prompt_eval_count": 10,
    }
    await resp.write((json.dumps(final) + "\n").encode())
    return resp
