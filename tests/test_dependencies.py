"""requirements.lock pins every package at an exact version inside pyproject.toml's ranges, and the
environment the tests run in was installed from it (as `make install` and CI do)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;#]*)$")


def _lock() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for number, line in enumerate((REPO / "requirements.lock").read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"requirements.lock line {number} is not name==version: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"{name} is pinned twice"
        pins[name] = Version(match[2])
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(r) for r in names]


def test_the_lock_pins_every_declared_dependency_inside_its_range() -> None:
    pins = _lock()
    assert len(pins) > 50  # the whole tree, not only the direct dependencies
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared in pyproject.toml but not locked"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req}"
    assert "torch" in pins and not pins["torch"].local, "torch is pinned without +cpu so its CPU build matches"


def test_the_installed_environment_is_the_locked_one() -> None:
    pins = _lock()
    wrong = []
    for name, version in sorted(pins.items()):
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} not installed")
            continue
        if installed.public != version.public:
            wrong.append(f"{name} {installed} (locked {version})")
    assert not wrong, "install with `make install` (pip -c requirements.lock): " + ", ".join(wrong)
