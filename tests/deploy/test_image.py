"""The image's steps, run without a Docker engine: the build stage's COPY lines
into a fresh context, its wheel, a fresh virtualenv that installs only that
wheel, `CMD` with the image's ENV (as the image's non-root user when the test
runs as root), the HEALTHCHECK command and the Kubernetes readiness probe's
gRPC health check against it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import grpc
import httpx
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.deploy.dockerfile import (
    DOCKERFILE,
    final_stage,
    ignore_patterns,
    ignored,
    instructions,
)
from tests.support.mcp_servers import REPO_ROOT, SampleServer, free_port

API_KEY = "9b2e7c4a1f6d3e8b0c5a7f2d9e4b1c6a3f8d0e5b2c7a9f4d1e6b3c8a0f5d2e7c"
ATTEMPTS = 150  # healthcheck attempts while the server starts, 0.2 s apart
# The fresh virtualenv's interpreter: the system one, which (unlike a per-user
# install such as pyenv's) the image's user can run, as in the image.
SYSTEM_PYTHON = Path("/usr/bin/python3")
BASE_PYTHON = SYSTEM_PYTHON if SYSTEM_PYTHON.exists() else Path(sys.executable)


@pytest.fixture
def image_root() -> Iterator[Path]:
    """A directory the image's user can read (pytest's tmp_path is root-only)."""
    root = Path(tempfile.mkdtemp(prefix="mcpc-image-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build_context(destination: Path) -> Path:
    """What the build stage's COPY lines put in its WORKDIR, from the context
    that .dockerignore leaves."""
    patterns = ignore_patterns()
    workdir = destination / "src"
    workdir.mkdir()
    for keyword, rest in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM" and any(workdir.iterdir()):
            break  # the final stage copies from the build stage only
        if keyword != "COPY" or rest.startswith("--from"):
            continue
        *sources, target = rest.split()
        for source in sources:
            assert not ignored(source, patterns), f"COPY {source}: left out by .dockerignore"
            files = [REPO_ROOT / source]
            if files[0].is_dir():
                files = [path for path in files[0].rglob("*") if path.is_file()]
            for path in files:
                relative = path.relative_to(REPO_ROOT).as_posix()
                if ignored(relative, patterns):
                    continue
                into = workdir / target
                if target.endswith("/"):
                    into = into / path.name
                elif path != REPO_ROOT / source:
                    into = into / path.relative_to(REPO_ROOT / source)
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, into)
    return workdir


def install_fresh(root: Path) -> Path:
    """`pip wheel` the context, then install only that wheel into a new venv."""
    context = build_context(root)
    wheels = root / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(context)], check=True)
    venv = root / "venv"
    subprocess.run([str(BASE_PYTHON), "-m", "venv", str(venv)], check=True)
    (wheel,) = wheels.glob("*.whl")
    venv_pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*venv_pip, "install", str(wheel)], check=True)
    return venv


def pod_spec() -> dict[str, Any]:
    deployment = REPO_ROOT / "deploy" / "k8s" / "base" / "deployment.yaml"
    spec: dict[str, Any] = yaml.safe_load(deployment.read_text())["spec"]["template"]["spec"]
    return spec


def readiness_probe_service() -> str:
    (container,) = pod_spec()["containers"]
    service: str = container["readinessProbe"]["grpc"]["service"]
    return service


def as_image_user() -> list[str]:
    """The Dockerfile's numeric USER, taken on when the test runs as root."""
    uid, _, gid = final_stage().user.partition(":")
    if os.geteuid() != 0 or BASE_PYTHON != SYSTEM_PYTHON:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups"]


async def healthcheck(env: dict[str, str], cwd: Path) -> int:
    process = await asyncio.create_subprocess_exec(
        *as_image_user(),
        *final_stage().healthcheck,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait()


@pytest.mark.slow
async def test_the_installed_wheel_serves_with_the_images_settings(
    image_root: Path, shared_prod: SampleServer
) -> None:
    venv = await asyncio.to_thread(install_fresh, image_root)
    stage = final_stage()
    workdir = image_root / "app"  # like WORKDIR /app: not writable by the user
    workdir.mkdir()
    env = {
        **stage.env,
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        # What `docker run -e` adds (README); free ports instead of the fixed ones.
        "COORDINATOR_API_KEY": API_KEY,
        "ODOO_PROD_MCP_URL": shared_prod.url,
        "PORT": str(free_port()),
        "GRPC_PORT": str(free_port()),
        "DRAIN_SECONDS": "1",
    }
    assert await healthcheck(env, workdir) != 0  # nothing listens yet

    server = await asyncio.create_subprocess_exec(
        *as_image_user(),
        *stage.cmd,
        env=env,
        cwd=workdir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(ATTEMPTS):
            if await healthcheck(env, workdir) == 0 or server.returncode is not None:
                break
            await asyncio.sleep(0.2)
        assert await healthcheck(env, workdir) == 0

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{env['PORT']}") as client:
            health = (await client.get("/health")).json()
            routed = await client.post(
                "/route",
                json={"query": "List expenses", "context": {"finance-ssc": True}},
                headers={"X-API-Key": API_KEY},
            )
        # What the Kubernetes readiness probe asks (deploy/k8s).
        async with grpc.aio.insecure_channel(f"127.0.0.1:{env['GRPC_PORT']}") as channel:
            probe = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=readiness_probe_service()), timeout=10
            )
        assert probe.status == health_pb2.HealthCheckResponse.SERVING
        assert health["targets"] == ["odoo_prod"]
        assert routed.status_code == 200, routed.text
        assert routed.json()["routing"]["rule"] == "context:finance-ssc"
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)  # the image's STOPSIGNAL: drains, then exits
        _, err = await server.communicate()
    assert server.returncode == 0, err.decode(errors="replace")


def test_the_image_runs_as_the_non_root_user_kubernetes_expects() -> None:
    pod = pod_spec()

    uid, _, gid = final_stage().user.partition(":")
    assert int(uid) != 0
    assert (int(uid), int(gid)) == (
        pod["securityContext"]["runAsUser"],
        pod["securityContext"]["runAsGroup"],
    )


def repository_files() -> list[str]:
    """The repository's files as a build context sees them: tracked ones and
    untracked ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return [line for line in listed.splitlines() if (REPO_ROOT / line).is_file()]


def test_the_build_context_keeps_what_the_image_needs_and_nothing_else() -> None:
    patterns = ignore_patterns()
    copied = [
        source
        for keyword, rest in instructions(DOCKERFILE.read_text())
        if keyword == "COPY" and not rest.startswith("--from")
        for source in rest.split()[:-1]
    ]
    # What the COPY lines bring, and of gen/ only the package the wheel takes.
    needed = [source for source in copied if source != "gen"] + ["gen/mcpcoordinator"]
    assert "gen" in copied

    def is_needed(relative: str) -> bool:
        path = PurePosixPath(relative)
        in_needed = any(
            path == PurePosixPath(n) or PurePosixPath(n) in path.parents for n in needed
        )
        return in_needed and "__pycache__" not in path.parts and path.suffix != ".pyc"

    files = repository_files()
    assert "coordinator/app.py" in files
    kept = {relative for relative in files if not ignored(relative, patterns)}
    assert kept == {relative for relative in files if is_needed(relative)}
    for left_out in (
        ".git/HEAD",
        ".venv/bin/python",
        "tools/node_modules/.bin/buf",
        "coordinator/__pycache__/app.cpython-311.pyc",
    ):
        assert ignored(left_out, patterns), left_out
