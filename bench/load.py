"""The study core under load: many learners asking at once, through the async API the bot uses.

For 1, 8, 32 and 128 concurrent askers it reports throughput, p50/p95/p99 latency, the event
loop's worst stall (how late a 5 ms timer fired), and how the query embeddings were batched;
next to them, the model's raw single-thread encode rate (one question per call) from the same
run. The query cache is cleared before each level and every question is asked once per level,
so every answer pays for its embedding.

Usage: python bench/load.py [--data DIR] [--levels 1,8,32,128]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from common import machine, percentile, study_questions, temp_settings

from bot.app import Services, build_services, install_worker_pool
from ingest.pipeline import ingest


async def _watch_loop(stop: asyncio.Event, period: float = 0.005) -> float:
    """The worst lateness of a periodic timer while the load runs."""
    worst = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(period)
        worst = max(worst, time.perf_counter() - started - period)
    return worst


async def _level(services: Services, questions: list[str], askers: int) -> dict[str, float]:
    services.embedder._cache.clear()
    batcher = services.embedder._batcher
    batches_before, texts_before = batcher.batches, services.embedder.texts_embedded
    batcher.largest = 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for q in questions:
        queue.put_nowait(q)
    latencies: list[float] = []

    async def asker() -> None:
        while not queue.empty():
            question = queue.get_nowait()
            started = time.perf_counter()
            await services.answers.ask(question)
            latencies.append(time.perf_counter() - started)

    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_loop(stop))
    started = time.perf_counter()
    await asyncio.gather(*(asker() for _ in range(askers)))
    elapsed = time.perf_counter() - started
    stop.set()
    stall = await watcher
    batches = batcher.batches - batches_before
    texts = services.embedder.texts_embedded - texts_before
    ms = sorted(1000 * v for v in latencies)
    return {
        "throughput": len(latencies) / elapsed,
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "stall": 1000 * stall,
        "batch": texts / max(1, batches),
        "largest": batcher.largest,
    }


def raw_encode_rate(services: Services, questions: list[str]) -> float:
    """Questions per second, one per model call on this thread, no cache: the model alone."""
    started = time.perf_counter()
    for q in questions:
        services.embedder.encode([q])
    return len(questions) / (time.perf_counter() - started)


async def run(services: Services, questions: list[str], levels: list[int]) -> None:
    install_worker_pool(services.settings)  # as the bot's runner does
    for q in questions[:20]:  # warm-up: model, Chroma, BM25 index
        await services.answers.ask(q)
    services.warm_up()  # as the bot's runner does
    raw = raw_encode_rate(services, questions[:200])
    print(f"raw encode, one question per call, one thread: {raw:.1f} questions/s")
    print(
        f"{'askers':>6} {'answers/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'loop stall ms':>13} {'batch':>6}"
    )
    first = None
    for askers in levels:
        r = await _level(services, questions, askers)
        first = first or r["throughput"]
        print(
            f"{askers:>6} {r['throughput']:>9.1f} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} "
            f"{r['stall']:>13.1f} {r['batch']:>6.1f}  (largest batch {r['largest']:.0f}, "
            f"{r['throughput'] / first:.2f}x one asker)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, help="reuse this data directory")
    parser.add_argument("--levels", default="1,8,32,128")
    args = parser.parse_args()
    settings = temp_settings(**({"data_dir": args.data} if args.data else {}))
    services = build_services(settings)
    ingest([settings.knowledge_dir], settings, services.store, services.embedder)
    questions = study_questions()
    print(f"machine: {machine()}")
    print(f"{services.store.count()} chunks; {len(questions)} distinct questions per level; extractive answers")
    asyncio.run(run(services, questions, [int(x) for x in args.levels.split(",")]))


if __name__ == "__main__":
    main()
