"""The terminal commands: JSON contracts, stdin batches, bad input, friendly errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.terminal.app import app
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus: Path) -> Callable[..., object]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STUDYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STUDYBOT_KNOWLEDGE_DIR", str(corpus))
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return run


@pytest.fixture
def ingested(cli: Callable[..., object]) -> Callable[..., object]:
    result = cli("ingest")
    assert result.exit_code == 0, result.output
    return cli


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_ingest_prints_a_summary_and_reruns_as_unchanged(cli: Callable[..., object]) -> None:
    first = cli("ingest")
    assert first.exit_code == 0 and "3 files" in first.output and "added" in first.output
    second = cli("ingest")
    assert second.exit_code == 0 and "0 added" in second.output and "unchanged" in second.output


def test_ingest_with_nothing_readable_fails(cli: Callable[..., object], tmp_path: Path) -> None:
    (tmp_path / "empty.md").write_text("")
    result = cli("ingest", str(tmp_path / "empty.md"))
    assert result.exit_code == 1
    assert "empty.md: empty file" in result.output and "none of the files found could be read" in result.output
    assert "Traceback" not in result.output


def test_ingest_refuses_a_missing_path_and_changes_nothing(cli: Callable[..., object], corpus: Path) -> None:
    assert cli("ingest", str(corpus)).exit_code == 0
    result = cli("ingest", str(corpus), str(corpus.with_name("notez")))
    assert result.exit_code == 1 and "no such file or folder" in result.output and "notez" in result.output
    assert "nothing was changed" in result.output
    assert len(json.loads(cli("sources", "--json").output)["documents"]) == 3


def test_removed_files_are_forgotten_and_remove_deletes_by_name(cli: Callable[..., object], tmp_path: Path) -> None:
    notes = tmp_path / "mine"
    notes.mkdir()
    (notes / "good.md").write_text("# Quokka\n\nThe quokka method is a made-up way to smooth gradients.\n")
    (notes / "keep.md").write_text("# Wombat\n\nThe wombat trick is a made-up way to pick a learning rate.\n")
    (notes / "empty.txt").write_text("")
    first = cli("ingest", "mine")
    assert first.exit_code == 0 and "2 files ingested" in first.output and "empty.txt: empty file" in first.output

    (notes / "good.md").unlink()
    result = cli("ingest", "mine")
    assert result.exit_code == 0, result.output  # keep.md was read: a success
    assert (
        "removed mine/good.md: 1 chunk deleted" in result.output and "1 removed file: 1 chunk deleted" in result.output
    )

    (notes / "keep.md").unlink()
    result = cli("ingest", "mine")  # only the unreadable file is left: deletions, then exit 1
    assert result.exit_code == 1 and "1 removed file: 1 chunk deleted" in result.output
    assert "none of the files found could be read" in result.output
    assert json.loads(cli("sources", "--json").output)["documents"] == []

    (notes / "empty.txt").unlink()
    assert cli("ingest", "mine").exit_code == 1  # nothing there and nothing stored from there

    (notes / "again.md").write_text("# Koala\n\nThe koala schedule is a made-up warm-up plan.\n")
    assert cli("ingest", "mine").exit_code == 0
    result = cli("remove", "mine/again.md", "mine/typo.md")
    assert result.exit_code == 1 and "removed mine/again.md: 1 chunk" in result.output
    assert "no ingested source matches mine/typo.md" in result.output and "Traceback" not in result.output
    assert json.loads(cli("sources", "--json").output)["documents"] == []
    assert (notes / "again.md").exists()  # remove forgets the chunks, never the file


def test_ask_json_contract(ingested: Callable[..., object]) -> None:
    result = ingested("ask", "How is recall computed?", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "answer", "sources"}
    assert data["sources"] and set(data["sources"][0]) == {"n", "source", "title", "section", "text", "score"}
    assert "[1]" in data["answer"]


def test_ask_human_output_lists_sources(ingested: Callable[..., object]) -> None:
    result = ingested("ask", "What happens to dropout at inference time?")
    assert result.exit_code == 0, result.output
    assert "[1] Dropout regularization > Dropout at inference time" in result.output  # source by title and section
    assert ".md" not in result.output  # never a file path


def test_ask_stdin_one_json_object_per_line(ingested: Callable[..., object]) -> None:
    questions = "What is precision?\n\n" + "x" * 2500 + "\nHow does k-means work?\n"
    result = ingested("ask", "-", input=questions)
    rows = _lines(result.stdout)
    assert result.exit_code == 0 and len(rows) == 4  # line n of the output answers line n of the input
    assert rows[0]["question"] == "What is precision?" and rows[0]["sources"]
    assert rows[1] == {"question": "", "error": "The question is empty: type a question about machine learning."}
    assert "limit is 2000" in str(rows[2]["error"])
    assert rows[3]["question"] == "How does k-means work?"


def test_retrieve_json_and_stdin(ingested: Callable[..., object]) -> None:
    one = ingested("retrieve", "centroid assignment", "-k", "2", "--json")
    data = json.loads(one.stdout)
    assert len(data["results"]) == 2 and data["results"][0]["source"].endswith("kmeans.txt")
    assert set(data["results"][0]) == {"source", "title", "section", "text", "score"}
    many = ingested("retrieve", "-", "-k", "1", input="recall\n  \nprecision\n")
    assert [len(r["results"]) if "results" in r else r["error"][:21] for r in _lines(many.stdout)] == [
        1, "The question is empty", 1,
    ]  # fmt: skip


@pytest.mark.parametrize("question", ["", "   \t ", "x" * 2001])
def test_bad_questions_exit_2_with_one_line(ingested: Callable[..., object], question: str) -> None:
    for command in ("ask", "retrieve"):
        result = ingested(command, question)
        assert result.exit_code == 2
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2


def test_control_characters_are_stripped(ingested: Callable[..., object]) -> None:
    result = ingested("ask", "What\x00 is\x07 precision?\x1b", "--json")
    assert json.loads(result.stdout)["question"] == "What is precision?"


def test_sources_lists_documents(ingested: Callable[..., object]) -> None:
    data = json.loads(ingested("sources", "--json").stdout)
    names = sorted(Path(d["source"]).name for d in data["documents"])
    assert names == ["dropout.md", "kmeans.txt", "precision.md"]
    assert all(d["chunks"] >= 1 for d in data["documents"])


def test_empty_knowledge_base_says_to_ingest(cli: Callable[..., object]) -> None:
    result = cli("ask", "What is precision?")
    assert result.exit_code == 1 and "studybot ingest" in result.output


def test_chroma_server_down_is_a_clear_error(cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYBOT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("STUDYBOT_CHROMA_PORT", str(free_port()))
    result = cli("ask", "What is precision?")
    assert result.exit_code == 1
    assert "vector store is unavailable" in result.output and "Traceback" not in result.output


def test_invalid_settings_are_one_line(cli: Callable[..., object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYBOT_RETRIEVAL_K", "zero")
    result = cli("sources")
    assert result.exit_code == 1 and "STUDYBOT_RETRIEVAL_K" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_console_script_batch_mode(tmp_path: Path, corpus: Path) -> None:
    """The installed entry point, as a user scripts it: ingest, then a stdin batch."""
    exe = Path(sys.executable).with_name("studybot")
    env = {**os.environ, "STUDYBOT_DATA_DIR": str(tmp_path / "d"), "STUDYBOT_KNOWLEDGE_DIR": str(corpus)}
    subprocess.run([str(exe), "ingest"], env=env, cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(
        [str(exe), "ask", "-"],
        env=env,
        cwd=tmp_path,
        input="What is recall?\nWhat is dropout?\n",
        capture_output=True,
        text=True,
        check=True,
    )
    rows = _lines(out.stdout)
    assert [r["question"] for r in rows] == ["What is recall?", "What is dropout?"]
    assert all(r["sources"] for r in rows) and out.stderr == ""
    bad = subprocess.run([str(exe), "ask", "  "], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2 and "empty" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_chat_session_answers_and_handles_commands(tmp_path: Path, corpus: Path) -> None:
    exe = Path(sys.executable).with_name("studybot")
    env = {
        **os.environ,
        "STUDYBOT_DATA_DIR": str(tmp_path / "d"),
        "STUDYBOT_KNOWLEDGE_DIR": str(corpus),
        "COLUMNS": "200",
    }
    subprocess.run([str(exe), "ingest"], env=env, cwd=tmp_path, check=True, capture_output=True)
    script = "How is recall computed?\n\n" + "y" * 2100 + "\n/sources\n/retrieve centroids\n/bogus\n/quit\n"
    out = subprocess.run(
        [str(exe), "chat"], env=env, cwd=tmp_path, input=script, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "TP / (TP + FN)" in text and "[1] Precision and recall > How recall is computed" in text  # answer, source
    assert "limit is 2000" in text  # an oversized question is refused, the session goes on
    assert "3 ingested documents" in text and "kmeans.txt" in text  # /sources
    assert "Top 5 passages for: centroids" in text  # /retrieve
    assert "Unknown command /bogus" in text and "bye" in text
    assert "Traceback" not in text + out.stderr


@pytest.mark.slow
def test_chat_ends_cleanly_on_end_of_input(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("studybot")
    env = {**os.environ, "STUDYBOT_DATA_DIR": str(tmp_path / "d")}
    out = subprocess.run(
        [str(exe), "chat"], env=env, cwd=tmp_path, input="", capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "knowledge base is empty" in out.stdout and "bye" in out.stdout
