"""Sample MCP servers in subprocesses, for tests, benchmarks and the demo.

    async with sample_server(name="odoo_prod", environment="production",
                             protocol="2025-11-25", json_response=True) as server:
        server.url        # http://127.0.0.1:<port>/mcp
        server.freeze()   # SIGSTOP: requests to it now time out
        server.thaw()     # SIGCONT
        await server.kill()     # SIGKILL: connections are refused from now on
        await server.restart()  # same port again (forgets every session)

The server runs in its own process so a test can kill or freeze it. Every
process started here is stopped when its context exits, whatever the test did,
and, as a last resort, when the interpreter exits. Plain asyncio code can use
it the same way (no pytest needed).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Literal

from coordinator.config import TargetConfig

Protocol = Literal["both", "2026-07-28", "2025-11-25"]
Environment = Literal["production", "lab"]

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
_LIVE: set[subprocess.Popen[bytes]] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS may hand it out again later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(REPO_ROOT)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def sample_command(
    name: str = "odoo_prod",
    environment: Environment = "production",
    *,
    stdio: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    protocol: Protocol = "both",
    json_response: bool = True,
    session_idle_timeout: float | None = None,
) -> list[str]:
    """The argv that starts one sample server."""
    argv = [
        sys.executable,
        "-m",
        "coordinator.samples",
        "--name",
        name,
        "--environment",
        environment,
    ]
    if stdio:
        return [*argv, "--stdio"]
    argv += ["--host", host, "--port", str(port), "--protocol", protocol]
    argv.append("--json-response" if json_response else "--sse")
    if session_idle_timeout is not None:
        argv += ["--session-idle-timeout", str(session_idle_timeout)]
    return argv


class SampleServer:
    """One sample server process on a fixed port once started (port 0 picks one the first time)."""

    def __init__(
        self,
        name: str = "odoo_prod",
        environment: Environment = "production",
        *,
        protocol: Protocol = "both",
        json_response: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        session_idle_timeout: float | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.environment = environment
        self.protocol = protocol
        self.json_response = json_response
        self.host = host
        self.port = port
        self.session_idle_timeout = session_idle_timeout
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.frozen = False

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("sample server not started")
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def target_config(self, **overrides: Any) -> TargetConfig:
        """A `TargetConfig` pointing at this server (overrides win)."""
        values: dict[str, Any] = {"name": self.name, "transport": "http", "url": self.url}
        if self.protocol != "both":
            values["protocol"] = self.protocol
        values.update(overrides)
        return TargetConfig(**values)

    async def start(self) -> SampleServer:
        if self.alive:
            raise RuntimeError("sample server already running")
        argv = sample_command(
            self.name,
            self.environment,
            host=self.host,
            port=self.port,
            protocol=self.protocol,
            json_response=self.json_response,
            session_idle_timeout=self.session_idle_timeout,
        )
        env = _env()
        env.update(self.extra_env)
        # Retried: on restart the old socket may linger a moment.
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            # Popen, not asyncio's: the process must outlive any one event loop.
            process = subprocess.Popen(  # noqa: ASYNC220
                argv, stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT
            )
            _LIVE.add(process)
            self.process = process
            self.frozen = False
            line = await self._read_listening_line(process, deadline)
            if line is not None:
                break
            self._reap(process)
            if time.monotonic() >= deadline or self.port == 0:
                raise RuntimeError(
                    f"sample server {self.name} did not start (exit {process.returncode})"
                )
            await asyncio.sleep(0.05)
        self.url = line.rsplit(" ", 1)[-1]
        self.port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])
        return self

    @staticmethod
    async def _read_listening_line(process: subprocess.Popen[bytes], deadline: float) -> str | None:
        assert process.stdout is not None
        stdout = process.stdout
        try:
            raw = await asyncio.wait_for(
                asyncio.to_thread(stdout.readline), timeout=max(0.1, deadline - time.monotonic())
            )
        except TimeoutError:
            process.kill()
            return None
        line = raw.decode(errors="replace").strip()
        return line if line.startswith("listening on ") else None

    def freeze(self) -> None:
        """SIGSTOP: the process keeps its sockets but answers nothing."""
        if self.alive and not self.frozen:
            os.kill(self.pid, signal.SIGSTOP)
            self.frozen = True

    def thaw(self) -> None:
        """SIGCONT after `freeze()`."""
        if self.process is not None and self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
            self.frozen = False

    async def kill(self) -> None:
        """SIGKILL and wait: from now on connections are refused."""
        process = self.process
        if process is None:
            return
        self.thaw()
        if process.poll() is None:
            process.kill()
        await asyncio.to_thread(process.wait)
        self._reap(process)

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        process = self.process
        if process is None:
            return
        self.thaw()
        if process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, grace)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        self._reap(process)

    async def restart(self) -> SampleServer:
        """Stops the server and starts a new one on the same port (sessions are forgotten)."""
        await self.stop()
        return await self.start()

    def _reap(self, process: subprocess.Popen[bytes]) -> None:
        if process.stdout is not None:
            process.stdout.close()
        _LIVE.discard(process)

    async def __aenter__(self) -> SampleServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@contextlib.asynccontextmanager
async def sample_server(
    name: str = "odoo_prod",
    environment: Environment = "production",
    *,
    protocol: Protocol = "both",
    json_response: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    session_idle_timeout: float | None = None,
) -> AsyncIterator[SampleServer]:
    """Starts a sample server subprocess and always stops it on exit."""
    server = SampleServer(
        name,
        environment,
        protocol=protocol,
        json_response=json_response,
        host=host,
        port=port,
        session_idle_timeout=session_idle_timeout,
    )
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


def stdio_target_config(
    name: str = "odoo_lab", environment: Environment = "lab", **overrides: Any
) -> TargetConfig:
    """A `TargetConfig` that runs a sample server over stdio as the coordinator's child."""
    argv = sample_command(name, environment, stdio=True)
    values: dict[str, Any] = {
        "name": name,
        "transport": "stdio",
        "command": argv[0],
        "args": tuple(argv[1:]),
        "env": {"PYTHONPATH": str(REPO_ROOT)},
        "cwd": str(REPO_ROOT),
    }
    values.update(overrides)
    return TargetConfig(**values)


def children_of(pid: int | None = None) -> list[int]:
    """Live (non-zombie) child process ids of `pid` (default: this process), from /proc."""
    parent = os.getpid() if pid is None else pid
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(entry.name))
    return found


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_LIVE):
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGCONT)
            process.kill()
        with contextlib.suppress(Exception):
            process.wait(timeout=5)
