from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Services
from ingest.pipeline import ingest
from tests.conftest import SAMPLE_NOTES

REPO = Path(__file__).resolve().parents[2]


def _run(services: Services, *paths: Path, reset: bool = False):
    return ingest(list(paths), services.settings, services.store, services.embedder, reset=reset)


def _snapshot(services: Services) -> dict[str, tuple[str, tuple[tuple[str, object], ...]]]:
    return {c.id: (c.text, tuple(sorted(c.metadata.items()))) for c in services.store.get_all()}


def test_second_run_embeds_nothing(make_services: Callable[..., Services], corpus: Path) -> None:
    services = make_services()
    first = _run(services, corpus)
    assert first.files == 3 and first.added == first.chunks > 3 and first.deleted == 0
    before = services.embedder.texts_embedded
    second = _run(services, corpus)
    assert services.embedder.texts_embedded == before  # not a single embedding computed
    assert (second.added, second.updated, second.deleted, second.unchanged) == (0, 0, 0, first.chunks)
    assert services.store.count() == first.chunks


def test_changed_file_is_replaced_and_removed_file_deleted(
    make_services: Callable[..., Services], corpus: Path
) -> None:
    services = make_services()
    _run(services, corpus)
    precision = corpus / "precision.md"
    precision.write_text(precision.read_text().replace("rarely flags", "seldom flags"))
    (corpus / "kmeans.txt").unlink()
    report = _run(services, corpus)
    assert report.added == 1 and report.deleted >= 2  # one edited chunk, the k-means chunks
    texts = [c.text for c in services.store.get_all()]
    assert any("seldom flags" in t for t in texts)
    assert not any("rarely flags" in t for t in texts)
    assert not any("centroid" in t for t in texts)
    # A third run converges: nothing left to do.
    again = _run(services, corpus)
    assert (again.added, again.deleted, again.updated) == (0, 0, 0)


def test_inserted_section_only_moves_positions(make_services: Callable[..., Services], corpus: Path) -> None:
    services = make_services()
    _run(services, corpus)
    dropout = corpus / "dropout.md"
    dropout.write_text(
        dropout.read_text().replace(
            "## How dropout works",
            "## Where dropout came from\n\nDropout was proposed in 2012.\n\n## How dropout works",
        )
    )
    report = _run(services, corpus)
    assert report.added == 1 and report.deleted == 0 and report.updated >= 2  # later chunks moved


def test_ingesting_another_folder_leaves_the_first_alone(
    make_services: Callable[..., Services], corpus: Path, tmp_path: Path
) -> None:
    services = make_services()
    first = _run(services, corpus)
    other = tmp_path / "other"
    other.mkdir()
    (other / "svm.md").write_text("# SVM\n\nA support vector machine maximises the margin between classes.\n")
    second = _run(services, other)
    assert second.deleted == 0 and services.store.count() == first.chunks + 1


def test_bad_files_are_skipped_and_the_rest_ingested(make_services: Callable[..., Services], corpus: Path) -> None:
    (corpus / "empty.md").write_text("")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    (corpus / "blob.txt").write_bytes(os.urandom(2048).replace(b"\x00", b"\x01") + b"\x00")
    services = make_services(max_file_mb=0.001)
    (corpus / "huge.md").write_text("# Huge\n\n" + "word " * 2000)
    report = _run(services, corpus)
    skipped = {Path(p).name: reason for p, reason in report.skipped}
    assert set(skipped) == {"empty.md", "broken.pdf", "blob.txt", "huge.md"}
    assert "too large" in skipped["huge.md"] and "corrupt" in skipped["broken.pdf"]
    assert report.files == 3 and report.added > 0


def test_a_file_that_turns_corrupt_keeps_its_earlier_chunks(
    make_services: Callable[..., Services], corpus: Path
) -> None:
    services = make_services()
    _run(services, corpus)
    before = services.store.count()
    (corpus / "precision.md").write_bytes(b"\x00\x00binary now")
    report = _run(services, corpus)
    assert report.deleted == 0 and services.store.count() == before


def test_reset_rebuilds_from_scratch(make_services: Callable[..., Services], corpus: Path) -> None:
    services = make_services()
    first = _run(services, corpus)
    report = _run(services, corpus, reset=True)
    assert report.added == first.chunks and services.store.count() == first.chunks


def _big_corpus(root: Path, files: int = 10) -> None:
    root.mkdir(parents=True, exist_ok=True)
    words = ["gradient", "variance", "bias", "tensor", "kernel", "margin", "entropy", "forest", "boosting", "cluster"]
    for i in range(files):
        sections = []
        for j in range(5):
            body = " ".join(f"{words[(i + j + k) % 10]}{k}" for k in range(40))
            sections.append(f"## Section {j} of file {i}\n\nFile {i} section {j} says {body}.\n")
        (root / f"file{i:02d}.md").write_text(f"# File {i}\n\n" + "\n".join(sections))


@pytest.mark.slow
def test_kill_9_mid_ingest_then_rerun_converges(
    make_services: Callable[..., Services], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "big"
    _big_corpus(corpus)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "killed"
    env = {
        **os.environ,
        "STUDYBOT_DATA_DIR": str(data),
        "STUDYBOT_COLLECTION": "test_notes",
        "STUDYBOT_INGEST_BATCH_SIZE": "5",
        "STUDYBOT_LOG_LEVEL": "INFO",
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.terminal.app", "ingest", str(corpus)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        if "added 15/" in line:
            break
        assert time.monotonic() < deadline, "ingest never got going"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # Some chunks made it, not all; then a re-run converges to what a clean run produces.
    killed = make_services(data_dir=data)
    partial = killed.store.count()
    assert 15 <= partial < 50
    report = _run(killed, corpus)
    assert report.added == 50 - partial and report.deleted == 0

    clean = make_services(data_dir=tmp_path / "clean")
    _run(clean, corpus)
    assert _snapshot(killed) == _snapshot(clean)
    assert killed.store.count() == 50  # no duplicates


def test_source_labels_do_not_depend_on_the_working_directory(
    make_services: Callable[..., Services], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    knowledge = project / "knowledge"
    knowledge.mkdir(parents=True)
    (knowledge / "a.md").write_text("# A\n\nAdam keeps running averages of gradients and squared gradients.\n")
    services = make_services(knowledge_dir=knowledge)
    monkeypatch.chdir(project)
    first = _run(services, Path("knowledge"))
    monkeypatch.chdir(tmp_path)
    second = _run(services, knowledge)  # the same files, named from elsewhere
    assert (second.added, second.deleted, second.unchanged) == (0, 0, first.chunks)
    assert {str(c.metadata["source"]) for c in services.store.get_all()} == {"knowledge/a.md"}


def test_a_folder_left_empty_forgets_its_removed_files(make_services: Callable[..., Services], corpus: Path) -> None:
    services = make_services()
    first = _run(services, corpus)
    for path in corpus.iterdir():
        path.unlink()
    report = _run(services, corpus)
    assert report.files == 0 and report.deleted == first.chunks and services.store.count() == 0
    assert sorted(Path(s).name for s in report.removed) == sorted(SAMPLE_NOTES)
    assert sum(report.removed.values()) == first.chunks
    assert not report.unreadable and not report.found_nothing  # deletions only: a success


def test_a_folder_with_only_unreadable_files_still_forgets_removed_ones(
    make_services: Callable[..., Services], corpus: Path
) -> None:
    services = make_services()
    _run(services, corpus)
    kmeans = [c for c in services.store.get_all() if "centroid" in c.text]
    for name in ("dropout.md", "precision.md"):
        (corpus / name).unlink()
    (corpus / "kmeans.txt").write_text("")  # still there, but unreadable now: its chunks stay
    report = _run(services, corpus)
    assert report.files == 0 and report.unreadable
    assert sorted(Path(s).name for s in report.removed) == ["dropout.md", "precision.md"]
    assert sorted(c.id for c in services.store.get_all()) == sorted(c.id for c in kmeans)


def test_a_path_that_does_not_exist_changes_nothing(make_services: Callable[..., Services], corpus: Path) -> None:
    from bot.study.errors import IngestError

    services = make_services()
    first = _run(services, corpus)
    for path in corpus.iterdir():
        path.unlink()
    with pytest.raises(IngestError, match=r"no such file or folder: .*notez"):
        _run(services, corpus, corpus.with_name("notez"))  # a typo beside a real (now empty) folder
    assert services.store.count() == first.chunks


def test_remove_sources_by_file_folder_or_stored_name(
    make_services: Callable[..., Services], corpus: Path, tmp_path: Path
) -> None:
    from ingest.pipeline import remove_sources

    services = make_services()
    other = tmp_path / "other" / "deep"
    other.mkdir(parents=True)
    (other / "svm.md").write_text("# SVM\n\nA support vector machine maximises the margin between classes.\n")
    (other / "knn.md").write_text("# kNN\n\nk-nearest neighbours votes among the closest training points.\n")
    _run(services, corpus, other.parent)
    stored = {s: n for s, _, n in services.store.sources()}
    dropout = next(s for s in stored if s.endswith("dropout.md"))

    (corpus / "dropout.md").unlink()  # removing by name works whether or not the file still exists
    report = remove_sources(services.store, [dropout], services.settings)
    assert report.removed == {dropout: stored[dropout]} and report.unmatched == []

    report = remove_sources(services.store, [str(other.parent), "no/such/source.md"], services.settings)
    assert sorted(Path(s).name for s in report.removed) == ["knn.md", "svm.md"]
    assert report.unmatched == ["no/such/source.md"]
    left = {Path(s).name for s, _, _ in services.store.sources()}
    assert left == {"precision.md", "kmeans.txt"}
    again = remove_sources(services.store, [dropout], services.settings)
    assert again.removed == {} and again.unmatched == [dropout]


def _ingest_process(corpus: Path, env: dict[str, str], *, pause: bool) -> subprocess.Popen[str]:
    hook = Path(__file__).with_name("pause_hook")
    env = {**env, "PYTHONPATH": os.pathsep.join([str(hook), str(REPO)]) if pause else str(REPO)}
    if pause:
        env["STUDYBOT_TEST_PAUSE_AFTER_DELETES"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "bot.terminal.app", "ingest", str(corpus)],
        env=env,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=corpus.parent,
    )


@pytest.mark.slow
@pytest.mark.parametrize("store", ["embedded", "server"])
def test_kill_9_mid_deletion_then_rerun_converges(
    store: str,
    make_services: Callable[..., Services],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that only deletes, killed after its first group: the next run deletes the rest."""
    monkeypatch.chdir(tmp_path)  # the subprocesses run here too: the same source labels
    corpus = tmp_path / "big"
    _big_corpus(corpus)  # 10 files of 5 chunks
    env = {
        **os.environ,
        "STUDYBOT_DATA_DIR": str(tmp_path / "killed"),
        "STUDYBOT_COLLECTION": "test_notes",
        "STUDYBOT_INGEST_BATCH_SIZE": "4",
    }
    where: dict[str, object] = {"data_dir": tmp_path / "killed"}
    if store == "server":
        server = request.getfixturevalue("chroma_server")
        env |= {"STUDYBOT_CHROMA_HOST": "127.0.0.1", "STUDYBOT_CHROMA_PORT": str(server.port)}
        where |= {"chroma_host": "127.0.0.1", "chroma_port": server.port}
    first = _ingest_process(corpus, env, pause=False)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    for path in sorted(corpus.iterdir())[:6]:
        path.unlink()  # 30 chunks now stale

    proc = _ingest_process(corpus, env, pause=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "paused after the first group of deletions" in line:
            break
    else:
        raise AssertionError(f"the run ended without deleting anything (exit {proc.wait()})")
    proc.kill()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    killed = make_services(**where)
    assert killed.store.count() == 50 - 4  # exactly one group of deletions landed
    report = _run(killed, corpus)
    assert (report.added, report.updated, report.deleted) == (0, 0, 26)
    assert 5 <= len(report.removed) <= 6  # a file whose chunks all went in the killed run is not listed again
    clean = make_services(data_dir=tmp_path / "clean")
    _run(clean, corpus)
    assert _snapshot(killed) == _snapshot(clean)  # no stale chunk, no duplicate
    assert killed.store.count() == 20 and {Path(s).name for s, _, _ in killed.store.sources()} == {
        p.name for p in corpus.iterdir()
    }
