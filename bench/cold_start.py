"""Cold starts, as a learner meets them: one-shot `studybot ask` and `studybot grade` to their answer,
their peak RSS, and `studybot run` from start to its first answered /ask (against the loopback fake
Discord of tests/discord). Machines like this one are noisy, so the targets are ratios against
`python -c "import sentence_transformers"` timed in the same run.

Usage: python bench/cold_start.py [RUNS]   (ingests knowledge/ into a temporary store first, which
also makes the ONNX export that questions are embedded with)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from common import REPO, machine, temp_settings

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
PY = sys.executable
STUDYBOT = str(Path(PY).with_name("studybot"))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process run to completion."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{cmd[:3]} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def series(cmd: list[str], env: dict[str, str]) -> tuple[list[float], list[float]]:
    timed(cmd, env)  # one unmeasured run: the OS file cache, as for a learner's second command
    runs = [timed(cmd, env) for _ in range(RUNS)]
    return [t for t, _ in runs], [m for _, m in runs]


async def bot_ready(env: dict[str, str]) -> float:
    """Seconds from starting `studybot run` to the first /ask answered, /ask sent as soon as it connects."""
    sys.path.insert(0, str(REPO))
    from tests.discord.fake_discord import VALID_TOKEN, FakeDiscord

    sitecustomize = REPO / "tests" / "discord" / "sitecustomize"  # points discord.py at the fake

    async with FakeDiscord(token=VALID_TOKEN) as fake:
        fake.grant_intents("message_content")
        paths = [str(sitecustomize), str(REPO), env.get("PYTHONPATH", "")]
        run_env = {
            **env, "FAKE_DISCORD_PORT": str(fake.port), "PYTHONPATH": os.pathsep.join(p for p in paths if p),
            "STUDYBOT_DISCORD_TOKEN": VALID_TOKEN, "STUDYBOT_DISCORD_TEST_GUILD": str(fake.guild.id),
            "STUDYBOT_HTTP_PORT": "0", "STUDYBOT_DISCORD_GUILD_READY_TIMEOUT": "0.05",
        }  # fmt: skip
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            STUDYBOT, "run", env=run_env, cwd=REPO, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            await fake.wait_until_connected(timeout=120)
            await fake.wait_for_request("PUT", r"/applications/\d+/guilds/\d+/commands", timeout=120)
            ask = await fake.slash("ask", {"question": "What does dropout do at inference time?"}, user=fake.member)
            await fake.wait_for_followup(ask, timeout=120)
            return time.perf_counter() - started
        finally:
            proc.terminate()
            await proc.wait()


def main() -> None:
    settings = temp_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    env |= {
        "STUDYBOT_DATA_DIR": str(settings.data_dir),
        "STUDYBOT_CACHE_DIR": str(settings.data_dir / "cache"),
        "STUDYBOT_KNOWLEDGE_DIR": str(REPO / "knowledge"),
    }
    subprocess.run([STUDYBOT, "ingest"], cwd=REPO, env=env, check=True, capture_output=True)

    baseline, _ = series([PY, "-c", "import sentence_transformers"], env)
    ask, ask_rss = series([STUDYBOT, "ask", "What does dropout do at inference time?", "--json"], env)
    grade, grade_rss = series(
        [STUDYBOT, "grade", "-q", "What does dropout do at inference time?", "-a",
         "It is switched off: every unit is used, so predictions are deterministic.", "--json"], env,
    )  # fmt: skip
    reference_env = {**env, "STUDYBOT_ONNX_QUERIES": "false"}
    ask_ref, ask_ref_rss = series([STUDYBOT, "ask", "What does dropout do at inference time?", "--json"], reference_env)
    ready = [asyncio.run(bot_ready(env)) for _ in range(max(3, RUNS // 2))]

    med = statistics.median
    base = med(baseline)
    versions = ", ".join(
        f"{p} {metadata.version(p)}"
        for p in ("torch", "sentence-transformers", "transformers", "onnxruntime", "chromadb")
    )
    print(f"machine: {machine()}")
    print(f"versions: {versions} (requirements.lock)")
    print(f"medians of {RUNS} runs each, after one unmeasured run")
    print(f"baseline `python -c 'import sentence_transformers'`: {base:.2f} s")
    print(
        f"`studybot ask` one-shot: {med(ask):.2f} s = {med(ask) / base:.2f}x baseline (target <= 0.5x), "
        f"peak RSS {med(ask_rss):.0f} MB, max {max(ask_rss):.0f} MB (target <= 450 MB)"
    )
    print(
        f"`studybot grade` one-shot: {med(grade):.2f} s = {med(grade) / base:.2f}x baseline (target <= 0.6x), "
        f"peak RSS {med(grade_rss):.0f} MB"
    )
    print(
        f"`studybot ask` with STUDYBOT_ONNX_QUERIES=false (sentence-transformers, as before): {med(ask_ref):.2f} s "
        f"= {med(ask_ref) / base:.2f}x baseline, peak RSS {med(ask_ref_rss):.0f} MB"
    )
    print(
        f"`studybot run` start to first /ask answered (fake Discord): median {med(ready):.2f} s, "
        f"max {max(ready):.2f} s over {len(ready)} starts (target <= 5 s)"
    )


if __name__ == "__main__":
    main()
