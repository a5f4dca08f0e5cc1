"""Hybrid retrieval: BM25 kept in step with the store, rank fusion, per-note limits, cosine scores."""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import Services
from bot.study.answering import AnswerService, ComposerSettings
from bot.study.keyword import keyword_tokens
from bot.study.retrieval import RetrievalConfig, Retriever
from ingest.pipeline import ingest


@pytest.fixture
def services(make_services: Callable[..., Services], corpus: Path) -> Services:
    services = make_services()
    ingest([corpus], services.settings, services.store, services.embedder)
    return services


def _sources(passages: list) -> list[str]:  # type: ignore[type-arg]
    return [Path(p.source).name for p in passages]


def test_keyword_tokens_stem_and_drop_stop_words() -> None:
    assert keyword_tokens("What are the Gradients of regularized models?") == ["gradient", "regular", "model"]
    assert keyword_tokens("") == []


def test_keyword_search_finds_exact_terms_and_scores_cosine(services: Services) -> None:
    vector = services.embedder.embed_query("TP / (TP + FN)")
    hits = services.store.keywords.search(keyword_tokens("recall TP FN"), 5, vector)
    assert hits and Path(str(hits[0].chunk.metadata["source"])).name == "precision.md"
    assert all(a.bm25 >= b.bm25 for a, b in itertools.pairwise(hits))
    assert hits[0].cosine is not None and 0.0 < hits[0].cosine <= 1.0
    # Words the notes never use find nothing, instead of arbitrary chunks.
    assert services.store.keywords.search(keyword_tokens("sourdough croissant"), 5, vector) == []


def test_keyword_index_follows_changes_made_in_this_process(services: Services, corpus: Path) -> None:
    index = services.store.keywords
    top = index.search(keyword_tokens("silhouette elbow centroid"), 3)[0]
    assert str(top.chunk.metadata["source"]).endswith("kmeans.txt")
    builds = index.builds
    (corpus / "kmeans.txt").unlink()
    ingest([corpus], services.settings, services.store, services.embedder)
    hits = index.search(keyword_tokens("silhouette elbow centroid"), 3)
    assert index.builds == builds + 1
    assert all(not str(h.chunk.metadata["source"]).endswith("kmeans.txt") for h in hits)
    index.search(keyword_tokens("dropout"), 3)
    assert index.builds == builds + 1, "no change, no rebuild"


def test_keyword_index_notices_another_process(make_services: Callable[..., Services], corpus: Path) -> None:
    bot = make_services(keyword_refresh_s=0)  # the bot's view of the store
    other = make_services()  # `studybot ingest` in another process, same store on disk
    ingest([corpus], other.settings, other.store, other.embedder)
    assert bot.store.keywords.search(keyword_tokens("centroid"), 3)
    (corpus / "kmeans.txt").unlink()
    ingest([corpus], other.settings, other.store, other.embedder)
    assert bot.store.keywords.search(keyword_tokens("centroid"), 3) == []


def test_hybrid_keeps_cosine_scores_and_one_passage_per_note(services: Services) -> None:
    passages = services.retriever.retrieve("how is recall computed", 3)  # three notes in the store
    assert _sources(passages)[0] == "precision.md"
    assert len(set(_sources(passages))) == 3, "one passage per note by default"
    vector = services.embedder.embed_query("how is recall computed")
    for p in passages:  # the score is the passage's cosine similarity, whichever list found it
        stored = services.store.keywords.vectors_for([p.id])[0]
        assert p.score == pytest.approx(float(stored @ vector), abs=1e-4)


def test_per_note_limit_fills_up_when_few_notes_match(services: Services) -> None:
    config = replace(RetrievalConfig(), per_source=1)
    retriever = Retriever(services.store, services.embedder, k=5, config=config)
    passages = retriever.retrieve("dropout during training and inference", 5)
    assert len(passages) == 5  # three notes in the store: the rest are more chunks of them
    assert _sources(passages)[0] == "dropout.md"
    no_limit = Retriever(services.store, services.embedder, k=5, config=replace(config, per_source=0))
    assert len(no_limit.retrieve("dropout during training and inference", 5)) == 5


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_every_mode_answers_from_the_right_note(services: Services, mode: str) -> None:
    config = replace(RetrievalConfig(), mode=mode)  # type: ignore[arg-type]
    retriever = Retriever(services.store, services.embedder, k=3, config=config)
    assert _sources(retriever.retrieve("elbow method for choosing k in k-means"))[0] == "kmeans.txt"


def test_mmr_variant_returns_k_diverse_passages(services: Services) -> None:
    config = replace(RetrievalConfig(), mmr_lambda=0.5)
    retriever = Retriever(services.store, services.embedder, k=3, config=config)
    passages = retriever.retrieve("dropout")
    assert len(passages) == 3 and len({p.id for p in passages}) == 3
    assert _sources(passages)[0] == "dropout.md"


def test_server_material_is_searched_by_keywords_too(services: Services, tmp_path: Path) -> None:
    material = tmp_path / "material"
    material.mkdir()
    (material / "club.md").write_text(
        "# Study club rules\n\nThe Zorblax protocol means every member explains one paper each week.\n",
        encoding="utf-8",
    )
    guild = services.guild_store(42)
    ingest([material], guild.settings, guild, services.embedder)
    passages = services.answers_for(42).retriever.retrieve("what is the zorblax protocol", 3)
    assert _sources(passages)[0] == "club.md"
    assert _sources(services.retriever.retrieve("what is the zorblax protocol", 3))[0] != "club.md"


def test_pooled_keyword_scores_match_bm25s_on_one_index(services: Services) -> None:
    index = services.store.keywords
    tokens = keyword_tokens("recall precision recall threshold")  # a repeated word counts twice, as in bm25s
    vector = services.embedder.embed_query("recall precision threshold")
    own = index.search(tokens, 10, vector)
    pooled = index.search_pooled(tokens, 10, vector, [index])
    assert [h.chunk.id for h in pooled] == [h.chunk.id for h in own]
    assert [h.bm25 for h in pooled] == pytest.approx([h.bm25 for h in own], rel=1e-4)
    assert [h.cosine for h in pooled] == pytest.approx([h.cosine for h in own], abs=1e-5)


def test_server_material_wins_on_its_own_word_beside_a_shared_one(services: Services, tmp_path: Path) -> None:
    """One small uploaded note against study notes that share one of its words: the word only the
    material has is rare across both, so the material is found first (in a one-chunk store every
    word looks common, and "dropout" alone would carry the notes above it)."""
    material = tmp_path / "material"
    material.mkdir()
    (material / "club.md").write_text(
        "# Zebra dropout\n\nZebra dropout switches off every third striped unit.\n", encoding="utf-8"
    )
    guild = services.guild_store(7)
    ingest([material], guild.settings, guild, services.embedder)
    retriever = services.answers_for(7).retriever
    tokens = keyword_tokens("what is zebra dropout during training")
    vector = services.embedder.embed_query("what is zebra dropout during training")
    (own,) = guild.keywords.search(tokens, 3, vector)
    (pooled,) = guild.keywords.search_pooled(tokens, 3, vector, [services.store.keywords, guild.keywords])
    best_note = services.store.keywords.search(tokens, 1, vector)[0]
    assert own.bm25 < best_note.bm25 < pooled.bm25
    assert _sources(retriever.retrieve("what is zebra dropout during training", 3))[0] == "club.md"
    assert _sources(retriever.retrieve("dropout during training and inference", 3))[0] == "dropout.md"


class _CountingGate:
    """A CPU gate that records how many threads were inside it at once."""

    def __init__(self, slots: int) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.entries = 0

    def __enter__(self) -> None:
        self._slots.acquire()
        with self._lock:
            self.inside += 1
            self.entries += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.002)  # long enough for the other threads to pile up at the gate

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.inside -= 1
        self._slots.release()


@pytest.mark.asyncio
async def test_python_heavy_work_runs_a_few_threads_at_a_time(services: Services) -> None:
    """Search and composing pass a gate of ``cpu_slots``; embedding waits outside it, in batches."""
    gate = _CountingGate(2)
    retriever = Retriever(services.store, services.embedder, k=3, cpu=gate)
    answers = AnswerService(retriever, settings=ComposerSettings(min_relevance=0.2))
    questions = [f"what does dropout do, case {i}?" for i in range(12)]
    results = await asyncio.gather(*(answers.ask(q) for q in questions))
    assert all(r.citations and _sources([r.citations[0].passage]) == ["dropout.md"] for r in results)
    assert gate.entries == 2 * len(questions), "each answer: one search and one composing"
    assert gate.most == 2


def test_warm_up_loads_what_first_uses_need(services: Services) -> None:
    """The bot calls warm_up before connecting: nothing heavy should be left for the event loop."""
    thresholds = gc.get_threshold()
    try:
        services.warm_up()
        assert {"quizzes", "interviews", "progress"} <= services.__dict__.keys()
        assert services.store.keywords.builds >= 1 and services.embedder.loaded
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_embedded_store_answers_an_empty_or_small_collection(
    make_services: Callable[..., Services], corpus: Path
) -> None:
    services = make_services()
    probe = services.embedder.embed_query("how is recall computed")
    assert services.store.query(probe, 5) == []
    ingest([corpus], services.settings, services.store, services.embedder)
    assert len(services.store.query(probe, 1000)) == services.store.count() > 0
