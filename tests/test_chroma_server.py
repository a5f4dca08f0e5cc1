"""Ingest and retrieval against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import Services
from bot.study.errors import VectorStoreUnavailable
from ingest.pipeline import ingest
from tests.chroma_server import ChromaServer


@pytest.mark.slow
def test_ingest_and_retrieve_through_a_chroma_server(
    chroma_server: ChromaServer, make_services: Callable[..., Services], corpus: Path, tmp_path: Path
) -> None:
    services = make_services(chroma_host="127.0.0.1", chroma_port=chroma_server.port)
    probe = services.embedder.embed_query("how is recall computed")
    assert services.store.query(probe, 5) == []  # an empty collection answers with nothing, not an error
    report = ingest([corpus], services.settings, services.store, services.embedder)
    assert report.added > 0
    assert len(services.store.query(probe, 1000)) == services.store.count()  # more asked than stored: all
    assert not (tmp_path / "data" / "chroma").exists()  # nothing went to the embedded store
    top = services.retriever.retrieve("how is recall computed", k=1)[0]
    assert top.section == "How recall is computed" and top.score > 0.5
    again = ingest([corpus], services.settings, services.store, services.embedder)
    assert again.added == 0 and again.unchanged == report.added
    answer = services.answers.ask_sync("How is recall computed?")
    assert "TP / (TP + FN)" in answer.text


@pytest.mark.slow
def test_chroma_server_down_then_back(
    chroma_server: ChromaServer, make_services: Callable[..., Services], corpus: Path
) -> None:
    """While the server is down a question gets a clear error; once it is back, answers resume."""
    services = make_services(chroma_host="127.0.0.1", chroma_port=chroma_server.port, keyword_refresh_s=0)
    ingest([corpus], services.settings, services.store, services.embedder)
    assert "TP / (TP + FN)" in services.answers.ask_sync("How is recall computed?").text

    chroma_server.stop()
    with pytest.raises(VectorStoreUnavailable) as failure:
        services.answers.ask_sync("How is precision computed?")
    message = str(failure.value)
    assert message.startswith("the vector store is unavailable") and "Traceback" not in message

    chroma_server.start()  # same port, same data on disk
    answer = services.answers.ask_sync("How is recall computed?")
    assert "TP / (TP + FN)" in answer.text and answer.citations
