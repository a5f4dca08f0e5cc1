"""The study core and the ingest pipeline must not depend on Discord."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = [
    *(REPO / "bot" / "study").rglob("*.py"),
    *(REPO / "ingest").rglob("*.py"),
    REPO / "bot" / "settings.py",
    REPO / "bot" / "app.py",
    REPO / "bot" / "metrics.py",
    REPO / "bot" / "http.py",
    REPO / "bot" / "healthcheck.py",
    *(REPO / "bot" / "terminal").rglob("*.py"),  # the terminal adapter needs no discord either
]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_source_never_imports_discord() -> None:
    offenders = [str(p.relative_to(REPO)) for p in CORE if "discord" in _imports(p)]
    assert offenders == []
    assert len(CORE) > 10  # the scan really covers the core


def test_importing_the_core_does_not_load_discord() -> None:
    modules = sorted("bot.study." + p.stem for p in (REPO / "bot" / "study").glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r} + ['ingest.pipeline', 'bot.app']: importlib.import_module(m)\n"
        "print('discord' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"
