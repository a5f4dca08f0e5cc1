"""Retrain the grader's verdict scorer on the labelled answers and install its weights:
``python tools/train_grader.py`` (runs bench/grading_eval.py --write-weights, which first reports
the two-fold cross-validated figures of the same training, then trains on every answer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    args = [sys.executable, str(REPO / "bench" / "grading_eval.py"), "--write-weights", *sys.argv[1:]]
    sys.exit(subprocess.call(args))
