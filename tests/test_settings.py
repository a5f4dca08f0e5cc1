from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import BUNDLED_MODEL, LLMProvider, Settings

REPO = Path(__file__).resolve().parents[1]


def test_defaults_use_embedded_services() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.llm_provider is LLMProvider.none
    assert s.chroma_host is None
    assert s.chroma_dir == Path("data") / "chroma"
    assert s.embedding_model == BUNDLED_MODEL
    assert Path(s.resolved_embedding_model(), "tokenizer.json").is_file()


def test_environment_and_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("STUDYBOT_RETRIEVAL_K=7\nSTUDYBOT_CHROMA_PATH=\nSTUDYBOT_LLM_PROVIDER=ollama\n")
    monkeypatch.setenv("STUDYBOT_CHROMA_HOST", "127.0.0.1")
    s = Settings(_env_file=env)  # type: ignore[call-arg]
    assert s.retrieval_k == 7
    assert s.chroma_path is None  # an empty value means "the default", not Path("")
    assert s.chroma_host == "127.0.0.1"
    assert s.llm_provider is LLMProvider.ollama


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYBOT_DISCORD_TOKEN", "super-secret-token")
    monkeypatch.setenv("STUDYBOT_LLM_API_KEY", "sk-secret-key")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert "super-secret-token" not in repr(s) and "sk-secret-key" not in repr(s)
    assert s.discord_token is not None and s.discord_token.get_secret_value() == "super-secret-token"


@pytest.mark.parametrize("name,value", [("retrieval_k", 0), ("collection", "x"), ("log_level", "LOUD")])
def test_invalid_values_are_refused(name: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **{name: value})  # type: ignore[call-arg]


def test_env_example_documents_every_setting_with_its_default() -> None:
    text = (REPO / ".env.example").read_text()
    documented = dict(re.findall(r"^(STUDYBOT_[A-Z_]+)=(.*)$", text, re.MULTILINE))
    fields = {f"STUDYBOT_{name.upper()}" for name in Settings.model_fields}
    assert fields == set(documented)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name in Settings.model_fields:
        value = getattr(defaults, name)
        shown = documented[f"STUDYBOT_{name.upper()}"]
        if value is None:
            assert shown == "", name
        elif isinstance(value, bool):
            assert shown == str(value).lower(), name
        elif isinstance(value, float):
            assert float(shown) == value, name
        else:
            assert shown == str(getattr(value, "value", value)), name
