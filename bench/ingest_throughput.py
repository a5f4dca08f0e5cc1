"""Ingestion throughput vs the raw encode rate of the same model on the same chunks, in one run.

Also times a re-ingest with nothing changed (in process and as a fresh `studybot ingest`).
Usage: python bench/ingest_throughput.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from common import REPO, machine, temp_settings

from bot.app import build_services
from ingest.pipeline import build_chunks, ingest
from ingest.split import load_token_counter


def main() -> None:
    settings = temp_settings()
    services = build_services(settings)
    services.embedder.load()
    chunks, *_ = build_chunks(
        [settings.knowledge_dir], settings, load_token_counter(settings.resolved_embedding_model())
    )
    texts = [c.embed_text for c in chunks]
    services.embedder.encode(texts[:64])  # warm-up: first batches pay one-off costs

    def raw_pass() -> float:
        started = time.perf_counter()
        services.embedder.encode(texts)
        return time.perf_counter() - started

    # Raw encode before and after the pipeline run, so drifting machine load hits both sides.
    raw_before = raw_pass()
    report = ingest([settings.knowledge_dir], settings, services.store, services.embedder)
    raw_after = raw_pass()
    raw = (raw_before + raw_after) / 2
    raw_rate = len(texts) / raw
    pipe_rate = report.added / report.seconds

    before = services.embedder.texts_embedded
    again = ingest([settings.knowledge_dir], settings, services.store, services.embedder)
    recomputed = services.embedder.texts_embedded - before

    env = {"STUDYBOT_DATA_DIR": str(settings.data_dir), "PATH": str(Path(sys.executable).parent)}
    started = time.perf_counter()
    subprocess.run(["studybot", "ingest"], cwd=REPO, env=env, check=True, capture_output=True)
    cli_rerun = time.perf_counter() - started

    print(f"machine: {machine()}")
    print(f"chunks: {len(texts)} from {report.files} files")
    print(f"raw encode: {raw_rate:.1f} chunks/s (mean of {raw_before:.1f} s before and {raw_after:.1f} s after)")
    print(f"pipeline (load+clean+split+embed+upsert): {pipe_rate:.1f} chunks/s ({report.seconds:.1f} s)")
    print(f"pipeline / raw: {pipe_rate / raw_rate:.1%} (target >= 85%)")
    print(f"re-ingest, nothing changed, in process: {again.seconds:.2f} s, {recomputed} embeddings computed")
    print(f"re-ingest, nothing changed, `studybot ingest` process: {cli_rerun:.2f} s (target < 3 s)")


if __name__ == "__main__":
    main()
