"""The chat-model factory: none, any OpenAI-compatible server, or Ollama."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.settings import LLMProvider, Settings
from bot.study.errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """Build the configured chat model, or None for the offline composer.

    Retries are off: on failure we fall back to the offline answer at once rather than make
    a learner wait through several timeouts.
    """
    provider = settings.llm_provider
    if provider is LLMProvider.none:
        return None
    if not settings.llm_model:
        raise ConfigError(f"STUDYBOT_LLM_MODEL must name a model when the LLM provider is {provider.value}")
    if provider is LLMProvider.openai:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        # Local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) accept any key.
        key = settings.llm_api_key or SecretStr("not-needed")
        return ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=key,
            timeout=settings.llm_timeout,
            max_retries=0,
            temperature=settings.llm_temperature,
        )
    from langchain_ollama import ChatOllama

    return ChatOllama(
        model=settings.llm_model,
        base_url=settings.llm_base_url or "http://127.0.0.1:11434",
        temperature=settings.llm_temperature,
        client_kwargs={"timeout": settings.llm_timeout},
    )
