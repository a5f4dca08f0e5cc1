"""Shared bits of the benchmark scripts: temp settings, percentiles, the machine's description."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.settings import Settings  # noqa: E402
from bot.study.banks import load_quiz_items, load_retrieval_questions  # noqa: E402


def temp_settings(**overrides: object) -> Settings:
    data = Path(tempfile.mkdtemp(prefix="studybot-bench-"))
    values: dict[str, object] = {"data_dir": data, "knowledge_dir": REPO / "knowledge"}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"n={len(ms)} mean={statistics.mean(ms):.1f} ms p50={percentile(ms, 50):.1f} ms "
        f"p95={percentile(ms, 95):.1f} ms p99={percentile(ms, 99):.1f} ms max={max(ms):.1f} ms"
    )


def machine() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def study_questions(limit: int | None = None) -> list[str]:
    """Learner-phrased questions (retrieval set) followed by quiz questions, deduplicated."""
    labelled = [q.question for q in load_retrieval_questions((REPO / "tests" / "data" / "retrieval").glob("*.yaml"))]
    quiz = [i.question for i in load_quiz_items(REPO / "knowledge")]
    out = list(dict.fromkeys(labelled + quiz))
    return out[:limit] if limit else out
