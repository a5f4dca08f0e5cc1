"""Cold start of `studybot ask` to its first answer, and the peak RSS of that process.

Usage: python bench/cold_start.py   (ingests knowledge/ into a temporary store first)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import REPO, machine, temp_settings

RUNS = 5


def main() -> None:
    settings = temp_settings()
    exe = str(Path(sys.executable).with_name("studybot"))
    env = {**os.environ, "STUDYBOT_DATA_DIR": str(settings.data_dir)}
    subprocess.run([exe, "ingest"], cwd=REPO, env=env, check=True, capture_output=True)
    times: list[float] = []
    peaks: list[float] = []
    for _ in range(RUNS):
        started = time.perf_counter()
        pid = subprocess.Popen(
            [exe, "ask", "What does dropout do at inference time?", "--json"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(pid.pid, 0)
        times.append(time.perf_counter() - started)
        assert status == 0
        peaks.append(usage.ru_maxrss / 1024)
    print(f"machine: {machine()}")
    print(
        f"`studybot ask` cold, to first answer: median {statistics.median(times):.2f} s, "
        f"min {min(times):.2f} s, max {max(times):.2f} s over {RUNS} runs"
    )
    print(f"peak RSS: median {statistics.median(peaks):.0f} MB, max {max(peaks):.0f} MB (target <= 800 MB)")


if __name__ == "__main__":
    main()
