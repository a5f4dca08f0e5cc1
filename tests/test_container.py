"""The Dockerfile and docker-compose.yml, checked without a Docker engine (none runs here).

What can run outside Docker does: the image's build step (`studybot ingest`), its entry point and
command, and its HEALTHCHECK, each with the environment the image sets. The compose file is
rendered by `docker compose config` (or Debian's `docker-compose`) and checked against Settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app import Services
from bot.http import HealthServer
from bot.settings import Settings
from ingest.pipeline import ingest
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]
SETTINGS_ENV = {f"STUDYBOT_{name.upper()}" for name in Settings.model_fields}


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for arg in self.all("ENV"):
            for pair in shlex.split(arg):
                key, _, value = pair.partition("=")
                values[key] = value
        return values


def _stages() -> list[Stage]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n\s*", " ", text)  # join continuation lines
    stages: list[Stage] = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arg = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            base, _, name = arg.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip()))
        elif stages:
            stages[-1].instructions.append((keyword, arg.strip()))
    return stages


def test_dockerfile_is_multi_stage_cpu_only_non_root_with_a_healthcheck() -> None:
    build, runtime = _stages()
    assert (build.name, runtime.name) == ("build", "runtime")
    runs = build.all("RUN")
    torch = next(i for i, r in enumerate(runs) if r.endswith("torch --index-url https://download.pytorch.org/whl/cpu"))
    project = next(i for i, r in enumerate(runs) if "pip install -c /tmp/requirements.lock ." in r)
    assert torch < project  # CPU torch first
    assert "-c /tmp/requirements.lock" in runs[torch]  # both pinned by the lock file
    assert "requirements.lock /tmp/requirements.lock" in build.all("COPY")
    assert any("studybot ingest" in r for r in runs), "the knowledge base is ingested at build time"
    copied = " ".join(runtime.all("COPY"))
    assert "--from=build /opt/venv" in copied and "--from=build" in copied and "/app" in copied
    user = runtime.all("USER")
    assert user and user[-1] not in {"root", "0"}
    assert json.loads(runtime.all("ENTRYPOINT")[-1]) == ["studybot"]
    assert json.loads(runtime.all("CMD")[-1]) == ["run"]
    healthcheck = runtime.all("HEALTHCHECK")[-1]
    assert healthcheck.endswith('CMD ["studybot", "health"]')
    env = {**build.env(), **runtime.env()}
    assert env["HF_HUB_OFFLINE"] == "1"  # nothing downloads at run time
    assert {k for k in env if k.startswith("STUDYBOT_")} <= SETTINGS_ENV


def _image_env(tmp_path: Path, knowledge: Path) -> dict[str, str]:
    """The runtime stage's environment, with its /app paths moved under tmp_path."""
    _, runtime = _stages()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    image = runtime.env()
    image["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    image["STUDYBOT_DATA_DIR"] = str(tmp_path / "app" / "data")
    image["STUDYBOT_KNOWLEDGE_DIR"] = str(knowledge)
    image["STUDYBOT_CACHE_DIR"] = str(tmp_path / "app" / "cache")
    return {**env, **image}


def _studybot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("studybot")
    return subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_images_build_step_and_commands_run_with_its_environment(corpus: Path, tmp_path: Path) -> None:
    env = _image_env(tmp_path, corpus)
    build, _ = _stages()
    ingest_step = next(r for r in build.all("RUN") if "studybot ingest" in r)
    assert ingest_step.split()[-2:] == ["studybot", "ingest"]
    built = _studybot(["ingest"], env, tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "app" / "data" / "chroma").is_dir()
    assert list((tmp_path / "app" / "cache" / "onnx").glob("*/model.onnx")), "questions embed with ONNX in the image"

    asked = _studybot(["ask", "How is recall computed?", "--json"], env, tmp_path)
    assert asked.returncode == 0 and "TP / (TP + FN)" in json.loads(asked.stdout)["answer"]

    no_token = _studybot(["run"], env, tmp_path)  # the default CMD, before a token is configured
    assert no_token.returncode == 1
    assert "STUDYBOT_DISCORD_TOKEN" in no_token.stderr and "Traceback" not in no_token.stderr


async def test_the_healthcheck_command_follows_the_endpoint(
    make_services: Callable[..., Services], corpus: Path, tmp_path: Path
) -> None:
    services = make_services()
    ingest([corpus], services.settings, services.store, services.embedder)
    port = free_port()
    env = {**_image_env(tmp_path, corpus), "STUDYBOT_HTTP_PORT": str(port)}
    exe = Path(sys.executable).with_name("studybot")

    async def health() -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            str(exe), "health", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await proc.communicate()
        return proc.returncode or 0, out.decode()

    code, said = await health()  # nothing listens yet: unhealthy, and says why
    assert code == 1 and "no answer from http://127.0.0.1:" in said

    connected: list[str | None] = [None]
    server = HealthServer(services, lambda: connected[0], "0.0.0.0", port)  # the image binds 0.0.0.0
    await server.start()
    try:
        code, said = await health()
        assert code == 0 and '"status": "ok"' in said
        connected[0] = "not connected yet"
        code, said = await health()
        assert code == 1 and "not connected yet" in said
    finally:
        await server.stop()
        await services.aclose()


# ---- docker-compose.yml ---------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_renders_with_docker_compose_config() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed (.ci/run installs docker-compose)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "POSTGRES_"))}
    for profile in ([], ["--profile", "ollama"]):
        done = subprocess.run(
            [*command, "-f", str(REPO / "docker-compose.yml"), *profile, "config"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        rendered = yaml.safe_load(done.stdout)
        services = rendered["services"]
        assert {"bot", "ingest", "chroma", "postgres"} <= set(services)
        bot_env = services["bot"]["environment"]
        assert bot_env["STUDYBOT_DATABASE_URL"] == "postgresql+asyncpg://studybot:studybot@postgres:5432/studybot"
        assert bot_env["STUDYBOT_CHROMA_HOST"] == "chroma"


def test_compose_wires_the_bot_to_its_services() -> None:
    compose = _compose()
    services = compose["services"]
    assert services["ollama"]["profiles"] == ["ollama"] and services["ollama-pull"]["profiles"] == ["ollama"]
    for name in ("bot", "ingest", "chroma", "postgres"):
        assert "profiles" not in services[name], f"{name} must start by default"
    for name, service in services.items():
        keys = {k for k in service.get("environment", {}) if k.startswith("STUDYBOT_")}
        assert keys <= SETTINGS_ENV, f"{name}: unknown settings {keys - SETTINGS_ENV}"
    bot = services["bot"]
    assert bot["depends_on"] == {
        "ingest": {"condition": "service_completed_successfully"},
        "chroma": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    assert bot["environment"]["STUDYBOT_HTTP_HOST"] == "0.0.0.0"
    grace = float(bot["environment"]["STUDYBOT_SHUTDOWN_GRACE_S"])
    assert float(bot["stop_grace_period"].removesuffix("s")) > grace, "Docker must not kill answers in flight"
    assert all(port.startswith("127.0.0.1:") for port in bot["ports"]), "health and metrics stay on loopback"
    assert services["chroma"]["image"] == f"chromadb/chroma:{version('chromadb')}", "server matches the client"
    assert all("healthcheck" in services[name] for name in ("chroma", "postgres", "ollama"))
    declared = set(compose["volumes"])
    used = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    assert used == declared
