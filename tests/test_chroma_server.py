"""Ingest and retrieval against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.app import Services
from ingest.pipeline import ingest
from tests.conftest import free_port


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    exe = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            assert proc.poll() is None, "chroma run exited"
            assert time.monotonic() < deadline, "chroma server did not start"
            time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.slow
def test_ingest_and_retrieve_through_a_chroma_server(
    chroma_server: int, make_services: Callable[..., Services], corpus: Path, tmp_path: Path
) -> None:
    services = make_services(chroma_host="127.0.0.1", chroma_port=chroma_server)
    report = ingest([corpus], services.settings, services.store, services.embedder)
    assert report.added > 0
    assert not (tmp_path / "data" / "chroma").exists()  # nothing went to the embedded store
    top = services.retriever.retrieve("how is recall computed", k=1)[0]
    assert top.section == "How recall is computed" and top.score > 0.5
    again = ingest([corpus], services.settings, services.store, services.embedder)
    assert again.added == 0 and again.unchanged == report.added
    answer = services.answers.ask_sync("How is recall computed?")
    assert "TP / (TP + FN)" in answer.text
