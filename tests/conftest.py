"""Shared fixtures: one embedding model per test session, temporary stores, a sample corpus."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Nothing in the suite may touch the real home or download anything.
_HOME = tempfile.mkdtemp(prefix="studybot-home-")
os.environ.setdefault("HOME", _HOME)
os.environ["XDG_CACHE_HOME"] = os.path.join(_HOME, ".cache")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
for key in list(os.environ):
    if key.startswith("STUDYBOT_"):
        del os.environ[key]

from bot.app import Services, build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.study.answering import CardIndex  # noqa: E402
from bot.study.answering.scope import Scope  # noqa: E402
from bot.study.embedding import Embedder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled model, loaded once for the whole session."""
    emb = Embedder(Settings(_env_file=None).resolved_embedding_model())  # type: ignore[call-arg]
    emb.load()
    return emb


@pytest.fixture(scope="session")
def card_index(embedder: Embedder) -> CardIndex:
    """The answer cards of knowledge/, their phrasings embedded once per test session (about 30 s) into
    the session's cache folder, where studybot processes started by tests find them too."""
    from bot.study.answering import CardVectors
    from bot.study.banks import load_cards

    folder = Settings(_env_file=None).resolved_cache_dir()  # type: ignore[call-arg]
    index = CardIndex(load_cards(KNOWLEDGE), embedder, CardVectors(folder, embedder))
    index.ensure_ready()
    return index


def share_session_models(services: Services, embedder: Embedder, cards: CardIndex) -> Services:
    """Give services the session's loaded model and card index (before anything built on them exists),
    and the everyday questions' test built on that index."""
    assert "retriever" not in services.__dict__ and "answers" not in services.__dict__
    services.embedder = embedder
    if services.settings.knowledge_dir.resolve() == KNOWLEDGE.resolve():
        services.__dict__["cards"] = cards  # a cached_property: set before first use
        services.__dict__["scope"] = _session_scope(embedder, cards)
    return services


_SCOPES: dict[int, Scope] = {}


def _session_scope(embedder: Embedder, cards: CardIndex) -> Scope:
    """One ``Scope`` per session card index: its everyday questions are embedded once (a few seconds)."""
    from bot.study.answering import CardVectors
    from bot.study.banks import load_everyday_questions

    if id(cards) not in _SCOPES:
        folder = Settings(_env_file=None).resolved_cache_dir()  # type: ignore[call-arg]
        vectors = CardVectors(folder, embedder, name="everyday-vectors")
        _SCOPES[id(cards)] = Scope(cards, load_everyday_questions(KNOWLEDGE), embedder, vectors)
    return _SCOPES[id(cards)]


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {"data_dir": tmp_path / "data", "collection": "test_notes"}
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def make_services(
    make_settings: Callable[..., Settings], embedder: Embedder, card_index: CardIndex
) -> Callable[..., Services]:
    """Services over a temporary store that share the session's loaded model and answer cards."""

    def make(**overrides: object) -> Services:
        return share_session_models(build_services(make_settings(**overrides)), embedder, card_index)

    return make


SAMPLE_NOTES = {
    "dropout.md": """---
area: algorithms
topic: regularization
---
# Dropout regularization

Dropout is a regularization technique for neural networks that randomly zeroes a fraction of
activations during training.

## How dropout works during training

At every training step each unit is kept with probability 1 - p and set to zero with
probability p. The surviving activations are scaled by 1 / (1 - p) so that their expected value
stays the same. Dropout stops units from co-adapting, which reduces overfitting.

## Dropout at inference time

At inference time dropout is switched off and every unit is used. Forgetting to call
model.eval() in PyTorch leaves dropout on and makes predictions noisy.
""",
    "precision.md": """# Precision and recall

## How precision is computed

Precision is the share of predicted positives that are truly positive: TP / (TP + FP).
A spam filter with high precision rarely flags a legitimate email.

## How recall is computed

Recall is the share of actual positives that the model finds: TP / (TP + FN).
A cancer screening test needs high recall because a missed case is costly.
""",
    "kmeans.txt": """K-means clustering

K-means splits data into k clusters by alternating two steps until nothing changes.
Each point is assigned to its nearest centroid, then every centroid moves to the mean of its points.
The elbow method and the silhouette score help choose k.
""",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    for name, text in SAMPLE_NOTES.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chdir_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture(scope="session")
def knowledge_services(embedder: Embedder, card_index: CardIndex, tmp_path_factory: pytest.TempPathFactory) -> Services:
    """The whole knowledge/ ingested once per test session (about a minute on two cores)."""
    from ingest.pipeline import ingest

    data = tmp_path_factory.mktemp("knowledge-store")
    settings = Settings(_env_file=None, data_dir=data, knowledge_dir=KNOWLEDGE)  # type: ignore[call-arg]
    services = share_session_models(build_services(settings), embedder, card_index)
    report = ingest([KNOWLEDGE], settings, services.store, embedder)
    assert report.files >= 100 and not report.skipped
    return services


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[object]:
    """A `chroma run` process on 127.0.0.1 with its data under this test's folder."""
    from tests.chroma_server import ChromaServer

    server = ChromaServer(tmp_path / "server")
    server.start()
    yield server
    server.stop()
