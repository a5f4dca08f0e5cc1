"""Incremental, idempotent ingestion into the vector store.

The store itself is the record of what is indexed: chunk ids hash their content, so the plan is a
set difference between the chunks the files yield now and the chunks stored under the same
sources. New chunks are embedded and added first (group by group), then stale ones are deleted.
A run killed at any point leaves a store that the next run converges from: what was added stays
(its ids are still wanted), what is missing gets added, what is stale gets deleted.

Deleting the chunks of files that no longer exist under an ingested folder happens whatever else a
run finds, even when nothing under it can be read any more. A path that does not exist is refused
before anything changes: a typo must not wipe material. ``remove_sources`` deletes named sources
outright (``studybot remove`` and the Discord ``/material remove``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import Settings
from bot.study.embedding import Embedder
from bot.study.errors import IngestError
from bot.study.vectorstore import VectorStore
from ingest.clean import clean_text
from ingest.load import SkipFile, discover, load, source_label
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
    # Sources that no longer exist, with how many of their chunks this run deleted.
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def unreadable(self) -> bool:
        """Files were found (or named) but not one of them could be read."""
        return self.files == 0 and bool(self.skipped)

    @property
    def found_nothing(self) -> bool:
        """No file to ingest and nothing stored from there: the run changed nothing."""
        return self.files == 0 and not self.skipped and not self.deleted


@dataclass
class RemovalReport:
    """What ``remove_sources`` deleted: chunks per source, and the names that matched no source."""

    removed: dict[str, int] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)

    @property
    def chunks(self) -> int:
        return sum(self.removed.values())


@dataclass
class Plan:
    to_add: list[Chunk]
    to_update: list[Chunk]
    to_delete: list[str]
    unchanged: int


def check_paths(paths: Sequence[Path]) -> None:
    """Refuse paths that do not exist, before anything is read or deleted."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        names = ", ".join(missing)
        raise IngestError(f"no such file or folder: {names} (nothing was changed)")


def build_chunks(
    paths: Sequence[Path], settings: Settings, count_tokens: Callable[[str], int] | None
) -> tuple[list[Chunk], list[str], list[str], int, list[tuple[str, str]]]:
    """Load, clean and split every file: (chunks, scopes, protected sources, files, skipped)."""
    targets, scopes, skipped = discover(paths, base=source_base(settings))
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


def source_base(settings: Settings) -> Path:
    """The folder source labels are relative to: the project folder that holds knowledge/."""
    return settings.knowledge_dir.resolve().parent


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
    """Bring the store in line with the files under ``paths``; see the module docstring.

    Raises IngestError, changing nothing, when a path does not exist. With nothing readable the
    run still deletes what removed files left behind (``--reset`` is then refused: it would leave
    an empty store).
    """
    started = time.perf_counter()
    check_paths(paths)
    count_tokens = load_token_counter(settings.resolved_embedding_model())
    chunks, scopes, protected, files, skipped = build_chunks(paths, settings, count_tokens)
    report = IngestReport(files=files, chunks=len(chunks), skipped=skipped)
    if files and reset:
        store.reset()
    if files:
        _check_model(store, settings)
    existing = store.all_metadata()
    plan = make_plan(chunks, existing, scopes, protected)
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
        vectors = embedder.encode([c.embed_text for c in part], reference=True)
        store.add([c.id for c in part], vectors, [c.text for c in part], [c.metadata for c in part])
        done += len(part)
        log.info("added %d/%d chunks", done, len(plan.to_add))
        if progress:
            progress(done, len(plan.to_add))
    if plan.to_update:
        store.update_metadata([c.id for c in plan.to_update], [c.metadata for c in plan.to_update])
    if plan.to_delete:
        _delete_in_groups(store, plan.to_delete, group)
    wanted_sources = {str(c.metadata.get("source", "")) for c in chunks} | set(protected)
    for cid in plan.to_delete:
        source = str(existing[cid].get("source", ""))
        if source not in wanted_sources:
            report.removed[source] = report.removed.get(source, 0) + 1
    report.added, report.updated = len(plan.to_add), len(plan.to_update)
    report.deleted, report.unchanged = len(plan.to_delete), plan.unchanged
    report.embedded = len(plan.to_add)
    report.seconds = time.perf_counter() - started
    return report


def _delete_in_groups(store: VectorStore, ids: Sequence[str], group: int) -> None:
    """Delete group by group, logging progress: a run killed between groups leaves only chunks that
    are still stale, which the next run deletes."""
    done = 0
    for start in range(0, len(ids), group):
        part = ids[start : start + group]
        store.delete(part)
        done += len(part)
        log.info("deleted %d/%d chunks", done, len(ids))


def matching_sources(names: Sequence[str], sources: Iterable[str], base: Path) -> tuple[dict[str, set[str]], list[str]]:
    """Which stored sources each name given by a user means: the source itself (as ``studybot
    sources`` lists it, or as a path to the file, which may no longer exist) or a folder above it."""
    known = sorted(set(sources))
    matched: dict[str, set[str]] = {}
    unmatched: list[str] = []
    for name in names:
        typed = name.strip().replace("\\", "/").rstrip("/")
        candidates = {typed, typed.removeprefix("./"), source_label(Path(typed), base)} - {""}
        hits = {s for s in known for c in candidates if s == c or s.startswith(c + "/")}
        if hits:
            matched[name] = hits
        else:
            unmatched.append(name)
    return matched, unmatched


def remove_sources(store: VectorStore, names: Sequence[str], settings: Settings) -> RemovalReport:
    """Delete every chunk of the sources ``names`` mean (files or folders, existing or not)."""
    existing = store.all_metadata()
    by_source: dict[str, list[str]] = {}
    for cid, meta in existing.items():
        by_source.setdefault(str(meta.get("source", "")), []).append(cid)
    matched, unmatched = matching_sources(names, by_source, source_base(settings))
    report = RemovalReport(unmatched=unmatched)
    chosen = sorted(set().union(*matched.values())) if matched else []
    ids = [cid for source in chosen for cid in by_source[source]]
    if ids:
        _delete_in_groups(store, ids, settings.ingest_batch_size)
    report.removed = {source: len(by_source[source]) for source in chosen}
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
