"""The `mcp-coordinator` command as a user runs it: serve, the gRPC client
commands, SIGTERM draining, configuration errors and the demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from mcpcoordinator.v1 import coordinator_pb2 as pb
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc

from tests.support.mcp_servers import SampleServer, children_of, free_port

API_KEY = "e2e-key"
START_TIMEOUT = 30.0


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "coordinator", *args]


def wait_for_line(process: subprocess.Popen[str], prefix: str) -> str:
    """Reads stdout until a line starting with `prefix` (bounded by START_TIMEOUT)."""
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"process exited ({process.poll()}) before printing {prefix!r}")
        if line.strip().startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting with {prefix!r} within {START_TIMEOUT}s")


def alive(pids: list[int]) -> list[int]:
    return [
        pid
        for pid in pids
        if Path(f"/proc/{pid}").exists()
        and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    ]


def processes_mentioning(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


class Served:
    def __init__(self, process: subprocess.Popen[str], grpc_port: int, http_port: int) -> None:
        self.process = process
        self.grpc_port = grpc_port
        self.http_port = http_port

    def run(self, *args: str, api_key: str | None = API_KEY) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COORDINATOR_ADDRESS": f"127.0.0.1:{self.grpc_port}"}
        env.pop("COORDINATOR_API_KEY", None)
        if api_key is not None:
            env["COORDINATOR_API_KEY"] = api_key
        return subprocess.run(cli(*args), env=env, capture_output=True, text=True, timeout=60)

    def json(self, *args: str) -> Any:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def served(shared_prod: SampleServer, shared_lab: SampleServer, tmp_path: Path) -> Iterator[Served]:
    marker = f"odoo_e2e_{uuid.uuid4().hex[:8]}"
    config = tmp_path / "coordinator.yaml"
    config.write_text(
        "targets:\n"
        f"  - name: odoo_local\n    transport: stdio\n    command: {sys.executable}\n"
        "    timeout: 15\n"
        f"    args: ['-m', 'coordinator.samples', '--name', '{marker}', '--environment', 'lab',"
        " '--stdio']\n"
    )
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "ODOO_PROD_MCP_URL": shared_prod.url,
        "ODOO_LAB_MCP_URL": shared_lab.url,
        "COORDINATOR_API_KEY": API_KEY,
        "COORDINATOR_CONFIG": str(config),
        "GRPC_PORT": str(grpc_port),
        "PORT": str(http_port),
        "DRAIN_SECONDS": "5",
    }
    process = subprocess.Popen(cli("serve"), env=env, stdout=subprocess.PIPE, text=True)
    try:
        wait_for_line(process, "mcp-coordinator")
        served = Served(process, grpc_port, http_port)
        served.marker = marker  # type: ignore[attr-defined]
        yield served
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


@pytest.mark.slow
def test_route_prints_the_routed_answer(served: Served) -> None:
    answer = served.json("route", "Show recent expenses", "--context", "finance-ssc=true")
    assert answer["routing"]["target"] == "odoo_prod"
    assert answer["routing"]["rule"] == "context:finance-ssc"
    assert answer["routing"]["cached"] is False  # unpopulated fields are printed too
    assert answer["data"]["structuredContent"]["kind"] == "expenses"


@pytest.mark.slow
def test_tool_call_with_json_arguments_on_a_stdio_target(served: Served) -> None:
    answer = served.json(
        "route",
        "--target",
        "odoo_local",
        "--tool",
        "get_record",
        "--arguments",
        '{"model": "hr.expense", "record_id": 4}',
    )
    assert answer["data"]["structuredContent"]["record"]["employee"] == "Test User"


@pytest.mark.slow
def test_aggregate_status_and_health(served: Served) -> None:
    aggregate = served.json("aggregate", "List all skills")
    assert set(aggregate["results"]) == {"odoo_prod", "odoo_lab", "odoo_local"}
    assert aggregate["aggregation"]["mode"] == "parallel"
    status = served.json("status")
    assert status["targets"]["odoo_local"]["transport"] == "stdio"
    health = served.json("health")
    assert health["status"] == "ok"


@pytest.mark.slow
def test_client_errors_are_one_line_with_the_code(served: Served) -> None:
    result = served.run("status", api_key="wrong")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: UNAUTHENTICATED: invalid API key"
    result = served.run("route")
    assert result.returncode == 1
    assert (
        "error: INVALID_ARGUMENT: query: one of query, tool or method is required" in result.stderr
    )


def wait_until_in_flight(served: Served, target: str) -> None:
    """Polls Status until a call to `target` is running (bounded)."""
    metadata = (("x-api-key", API_KEY),)
    with grpc.insecure_channel(f"127.0.0.1:{served.grpc_port}") as channel:
        stub = pb_grpc.CoordinatorServiceStub(channel)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            status = stub.Status(pb.StatusRequest(), metadata=metadata, timeout=5)
            if status.targets[target].in_flight > 0:
                return
            time.sleep(0.02)
    raise AssertionError(f"no call to {target} became in flight")


@pytest.mark.slow
def test_sigterm_drains_in_flight_calls_and_stops_children(served: Served) -> None:
    env = {
        **os.environ,
        "COORDINATOR_ADDRESS": f"127.0.0.1:{served.grpc_port}",
        "COORDINATOR_API_KEY": API_KEY,
    }
    slow = subprocess.Popen(
        cli("route", "--tool", "slow", "--arguments", '{"seconds": 1.5}'),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until_in_flight(served, "odoo_prod")
    served.process.send_signal(signal.SIGTERM)
    out, err = slow.communicate(timeout=30)
    assert slow.returncode == 0, err
    assert json.loads(out)["data"]["structuredContent"]["slept"] == 1.5
    assert served.process.wait(timeout=15) == 0
    marker = served.marker  # type: ignore[attr-defined]
    assert processes_mentioning(marker) == []


@pytest.mark.slow
def test_invalid_configuration_stops_start_up_with_the_key_named() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COORDINATOR_API_KEY"}
    env.update({"ENVIRONMENT": "production", "ODOO_PROD_MCP_URL": "http://127.0.0.1:1/mcp"})
    result = subprocess.run(cli("serve"), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "COORDINATOR_API_KEY: required when ENVIRONMENT=production" in result.stderr


@pytest.mark.slow
def test_an_unusable_tracing_setting_stops_start_up_with_the_key_named() -> None:
    env = {**os.environ, "ODOO_PROD_MCP_URL": "http://127.0.0.1:1/mcp"}
    env.update({"OTEL_TRACES_EXPORTER": "zipkin", "COORDINATOR_API_KEY": API_KEY})
    result = subprocess.run(cli("serve"), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "OTEL_TRACES_EXPORTER: 'zipkin' is not supported" in result.stderr


@pytest.mark.slow
def test_demo_starts_samples_and_coordinator_and_stops_cleanly() -> None:
    grpc_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        cli("demo", "--grpc-port", str(grpc_port), "--port", str(http_port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_line(process, "MCP Coordinator demo is running")
        dashboard = wait_for_line(process, "Dashboard ").split()[1]
        assert dashboard == f"http://127.0.0.1:{http_port}/dashboard"
        assert "<title>MCP Coordinator dashboard</title>" in httpx.get(dashboard, timeout=10).text
        health = httpx.get(f"http://127.0.0.1:{http_port}/health", timeout=10).json()
        assert health["targets"] == ["odoo_prod", "odoo_lab"]
        routed = httpx.post(
            f"http://127.0.0.1:{http_port}/route",
            headers={"X-API-Key": "demo-key"},
            json={"query": "Show recent expenses", "context": {"finance-ssc": True}},
            timeout=10,
        ).json()
        assert routed["routing"]["target"] == "odoo_prod"
        samples = children_of(process.pid)
        assert len(samples) == 2
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert alive(samples) == []
        assert process.stderr is not None
        log = process.stderr.read()
        # Every routing decision is one line on stderr, with its rule and request id.
        decision = next(line for line in log.splitlines() if "Route query -> odoo_prod" in line)
        assert " INFO " in decision
        assert "rule=context:finance-ssc" in decision
        assert "request_id=" in decision
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
