"""Clients built on the generated code in gen/ts and gen/go call the real
coordinator over gRPC, in front of the two sample servers: TypeScript with
@connectrpc/connect-node and Go with grpc-go (tools/clients/)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import API_KEY, running, settings_for
from tests.support.mcp_servers import REPO_ROOT, SampleServer

TOOLS = REPO_ROOT / "tools"
NODE = TOOLS / "node_modules" / ".bin" / "node"
TSC = TOOLS / "node_modules" / ".bin" / "tsc"
TS_CLIENT = TOOLS / "clients" / "coordinator-client.mts"
GO_CLIENT = TOOLS / "clients" / "go-client"
GO_WITH_GENPROTO = TOOLS / "clients" / "with-genproto"
GO_MODULE = "github.com/insightpulseai/mcp-coordinator/gen/go"
RUN_TIMEOUT = 60.0

# What both clients must see: the same four calls, the same answers.
EXPECTED = {
    "health": {"status": "ok", "targets": ["odoo_prod", "odoo_lab"]},
    "finance_route": {
        "target": "odoo_prod",
        "rule": "context:finance-ssc",
        "environment": "production",
    },
    "no_key": {
        "code": "Unauthenticated",
        "message": "missing API key: send it as the X-API-Key header",
    },
    "empty_request": {
        "code": "InvalidArgument",
        "message": "query: one of query, tool or method is required",
    },
}


async def run_client(command: list[str], address: str) -> dict[str, Any]:
    """Runs a client (bounded by RUN_TIMEOUT) and returns its JSON output."""
    process = await asyncio.create_subprocess_exec(
        *command,
        address,
        API_KEY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode(errors="replace")
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


async def calls_from(command: list[str], prod: SampleServer, lab: SampleServer) -> dict[str, Any]:
    settings = settings_for(prod.target_config(), lab.target_config())
    result: dict[str, Any] = {}
    async for item in running(settings):  # runs once, then stops the coordinator
        result = await run_client(command, f"127.0.0.1:{item.coordinator.grpc_port}")
    return result


def build_go_program(source: Path, workdir: Path) -> Path:
    """Builds a Go program from tools/clients offline in GOPATH mode against
    gen/go and Debian's Go packages (/usr/share/gocode), as a Go project would."""
    gopath = workdir / "gopath"
    module_dir = gopath / "src" / GO_MODULE
    module_dir.parent.mkdir(parents=True)
    module_dir.symlink_to(REPO_ROOT / "gen" / "go")
    (gopath / "src" / source.name).symlink_to(source)
    binary = workdir / source.name
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": f"{gopath}:/usr/share/gocode"}
    subprocess.run(
        ["go", "build", "-o", str(binary), source.name],
        cwd=gopath,
        env=env,
        check=True,
        timeout=300,
    )
    return binary


@pytest.mark.slow
async def test_typescript_client_calls_the_coordinator(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    # --preserve-symlinks: the generated package is linked into tools/node_modules
    # and resolves @bufbuild/protobuf from there, as an installed copy would.
    command = [str(NODE), "--preserve-symlinks", str(TS_CLIENT)]

    assert await calls_from(command, shared_prod, shared_lab) == EXPECTED


@pytest.mark.slow
def test_typescript_client_type_checks_against_the_generated_types() -> None:
    result = subprocess.run(
        [str(TSC), "-p", str(TS_CLIENT.parent)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
async def test_go_client_calls_the_coordinator(
    shared_prod: SampleServer, shared_lab: SampleServer, tmp_path: Path
) -> None:
    binary = await asyncio.to_thread(build_go_program, GO_CLIENT, tmp_path)

    assert await calls_from([str(binary)], shared_prod, shared_lab) == EXPECTED


@pytest.mark.slow
def test_go_package_works_next_to_googles_own_google_api_package(tmp_path: Path) -> None:
    # gen/go does not carry its own copy of google/api: a program that imports
    # Google's genproto too must start (one registration of google.api.http)
    # and read the contract's HTTP rules through Google's extension type.
    binary = build_go_program(GO_WITH_GENPROTO, tmp_path)

    result = subprocess.run(
        [str(binary)], capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "Route": "POST /route",
        "Aggregate": "POST /aggregate",
        "Health": "GET /health",
        "Status": "GET /status",
        "Usage": "GET /usage",
    }
