"""Incremental, idempotent ingestion into the vector store.

The store itself is the record of what is indexed: chunk ids hash their content, so the plan is a
set difference between the chunks the files yield now and the chunks stored under the same
sources. New chunks are embedded and added first (group by group), then stale ones are deleted.
A run killed at any point leaves a store that the next run converges from: what was added stays
(its ids are still wanted), what is missing gets added, what is stale gets deleted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import Settings
from bot.study.embedding import Embedder
from bot.study.errors import IngestError
from bot.study.vectorstore import VectorStore
from ingest.clean import clean_text
from ingest.load import SkipFile, discover, load
from ingest.split import Chunk, load_token_counter, split_document

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (texts embedded so far, texts to embed)


@dataclass
class IngestReport:
    files: int = 0
    chunks: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    embedded: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def nothing_ingested(self) -> bool:
        return self.files == 0


@dataclass
class Plan:
    to_add: list[Chunk]
    to_update: list[Chunk]
    to_delete: list[str]
    unchanged: int


def build_chunks(
    paths: Sequence[Path], settings: Settings, count_tokens: Callable[[str], int] | None
) -> tuple[list[Chunk], list[str], list[str], int, list[tuple[str, str]]]:
    """Load, clean and split every file: (chunks, scopes, protected sources, files, skipped)."""
    targets, scopes, skipped = discover(paths, base=settings.knowledge_dir.resolve().parent)
    chunks: list[Chunk] = []
    protected: list[str] = []
    files = 0
    for target in targets:
        try:
            doc = load(target, settings.max_file_bytes)
            doc.text = clean_text(doc.text)
            doc_chunks = split_document(doc, count_tokens=count_tokens)
            if not doc_chunks:
                raise SkipFile("no text left after cleaning")
        except SkipFile as exc:
            skipped.append((str(target.path), str(exc)))
            protected.append(target.source)  # keep what an earlier run stored for it
            continue
        except Exception as exc:  # a parser bug must not sink the whole run
            log.debug("failed to read %s", target.path, exc_info=True)
            skipped.append((str(target.path), f"could not be read ({type(exc).__name__})"))
            protected.append(target.source)
            continue
        files += 1
        chunks.extend(doc_chunks)
    return chunks, scopes, protected, files, skipped


def make_plan(
    chunks: list[Chunk], existing: Mapping[str, Mapping[str, object]], scopes: list[str], protected: list[str]
) -> Plan:
    wanted = {c.id: c for c in chunks}
    to_add = [c for c in wanted.values() if c.id not in existing]
    to_update = [c for c in wanted.values() if c.id in existing and existing[c.id] != c.metadata]
    keep = set(protected)

    def in_scope(source: str) -> bool:
        return any(
            source == s or (s.endswith("/") and source.startswith(s)) or (s == "" and not source.startswith("/"))
            for s in scopes
        )

    to_delete = [
        cid
        for cid, meta in existing.items()
        if cid not in wanted and in_scope(str(meta.get("source", ""))) and meta.get("source") not in keep
    ]
    unchanged = len(wanted) - len(to_add) - len(to_update)
    return Plan(to_add, to_update, to_delete, unchanged)


def ingest(
    paths: Sequence[Path],
    settings: Settings,
    store: VectorStore,
    embedder: Embedder,
    *,
    reset: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the store in line with the files under ``paths``; see the module docstring."""
    started = time.perf_counter()
    count_tokens = load_token_counter(settings.resolved_embedding_model())
    chunks, scopes, protected, files, skipped = build_chunks(paths, settings, count_tokens)
    report = IngestReport(files=files, chunks=len(chunks), skipped=skipped)
    if files == 0:
        report.seconds = time.perf_counter() - started
        return report
    if reset:
        store.reset()
    _check_model(store, settings)
    plan = make_plan(chunks, store.all_metadata(), scopes, protected)
    log.info(
        "plan: %d to add, %d to update, %d to delete, %d unchanged",
        len(plan.to_add),
        len(plan.to_update),
        len(plan.to_delete),
        plan.unchanged,
    )
    done = 0
    group = settings.ingest_batch_size
    for start in range(0, len(plan.to_add), group):
        part = plan.to_add[start : start + group]
        vectors = embedder.encode([c.embed_text for c in part])
        store.add([c.id for c in part], vectors, [c.text for c in part], [c.metadata for c in part])
        done += len(part)
        log.info("added %d/%d chunks", done, len(plan.to_add))
        if progress:
            progress(done, len(plan.to_add))
    if plan.to_update:
        store.update_metadata([c.id for c in plan.to_update], [c.metadata for c in plan.to_update])
    if plan.to_delete:
        store.delete(plan.to_delete)
    report.added, report.updated = len(plan.to_add), len(plan.to_update)
    report.deleted, report.unchanged = len(plan.to_delete), plan.unchanged
    report.embedded = len(plan.to_add)
    report.seconds = time.perf_counter() - started
    return report


def _check_model(store: VectorStore, settings: Settings) -> None:
    """Refuse to mix vectors of two embedding models in one collection."""
    col = store.collection()
    stored = (col.metadata or {}).get("embedding_model")
    if stored is None:
        if store.count() == 0:
            col.modify(metadata={"embedding_model": settings.embedding_model})
        return
    if stored != settings.embedding_model:
        raise IngestError(
            f"the collection {settings.collection!r} holds vectors of {stored!r}, not "
            f"{settings.embedding_model!r}: run `studybot ingest --reset` to rebuild it"
        )
