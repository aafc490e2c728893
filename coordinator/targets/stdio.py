"""stdio targets: a child process speaking newline-delimited JSON-RPC on stdin/stdout.

The child is started on the first request (not when the target is entered, so
a broken command does not stop the coordinator), initialized with the
2025-11-25 handshake (or, with `protocol: 2026-07-28`, sent the per-request
`_meta` envelope without a handshake), and supervised: when it exits, every
request in flight fails with `TargetUnavailable("closed")` at once and the
next request starts it again after a short backoff that grows while it keeps
dying. Its stderr goes to the `coordinator.targets.stdio` logger. Closing the
target closes the child's stdin, then sends SIGTERM to its process group, then
SIGKILL: no orphans.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import time
from collections.abc import Mapping
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from coordinator.config import TargetConfig
from coordinator.targets.base import (
    CLIENT_INFO,
    DEFAULT_TIMEOUT,
    HANDSHAKE_VERSION,
    MODERN_VERSION,
    Progress,
    Target,
    add_modern_meta,
    result_of,
)
from coordinator.targets.errors import TargetUnavailable

logger = logging.getLogger(__name__)

INHERITED_ENV = (
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "TERM",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
)
LINE_LIMIT = 64 * 1024 * 1024
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
CLOSE_GRACE = 2.0


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """Only harmless variables are inherited (never the coordinator's secrets), plus `extra`."""
    env = {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}
    env.update(extra)
    return env


class _Child:
    """One running child process and its pending requests."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ready = False
        self.dead = False
        self.tasks: list[asyncio.Task[None]] = []
        self.write_lock = asyncio.Lock()


class StdioTarget(Target):
    transport = "stdio"

    def __init__(self, config: TargetConfig, *, default_timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(config, default_timeout=default_timeout)
        assert config.command is not None
        self._child: _Child | None = None
        # Every child not yet reaped, the current one and any abandoned ones.
        self._children: set[_Child] = set()
        self._ids = itertools.count(1)
        self._start_lock = asyncio.Lock()
        self._negotiated: str | None = None
        self._failures = 0
        self._next_start = 0.0
        self.starts = 0

    @property
    def protocol_version(self) -> str | None:
        child = self._child
        return self._negotiated if child is not None and child.ready and not child.dead else None

    @property
    def pid(self) -> int | None:
        """The running child's process id, if any."""
        child = self._child
        return child.process.pid if child is not None and not child.dead else None

    async def _start(self) -> None:
        """Nothing to do: the child starts with the first request."""

    async def _close(self) -> None:
        for child in list(self._children):
            await self._stop_child(child, "target closed")

    # ----------------------------------------------------------------- requests

    async def _request(
        self, method: str, params: dict[str, Any], progress: Progress
    ) -> dict[str, Any]:
        child = await self._running_child()
        message = await self._call(child, method, params, progress)
        return result_of(self.name, message)

    async def _running_child(self) -> _Child:
        child = self._child
        if child is not None and child.ready and not child.dead:
            return child
        async with self._start_lock:
            child = self._child
            if child is not None and child.ready and not child.dead:
                return child
            if self._closed:
                raise TargetUnavailable(self.name, "closed", "target is closed", may_have_run=False)
            wait = self._next_start - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            child = await self._spawn()
            try:
                await self._handshake(child)
            except BaseException:
                # No grace here: the caller's deadline may be spent already.
                self._abandon(child)
                self._schedule_backoff()
                raise
            return child

    def _schedule_backoff(self) -> None:
        self._failures += 1
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failures - 1))
        self._next_start = time.monotonic() + delay

    async def _spawn(self) -> _Child:
        config = self.config
        assert config.command is not None
        try:
            process = await asyncio.create_subprocess_exec(
                config.command,
                *config.args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=child_environment(config.env),
                cwd=config.cwd,
                limit=LINE_LIMIT,
                start_new_session=True,
            )
        except OSError as exc:
            self._schedule_backoff()
            raise TargetUnavailable(
                self.name, "refused", f"cannot start {config.command!r}: {exc}", may_have_run=False
            ) from exc
        self.starts += 1
        child = _Child(process)
        self._child = child
        self._children.add(child)
        child.tasks.append(
            asyncio.create_task(self._read_stdout(child), name=f"{self.name}-stdout")
        )
        child.tasks.append(
            asyncio.create_task(self._read_stderr(child), name=f"{self.name}-stderr")
        )
        logger.info("target %s: started %s (pid %d)", self.name, config.command, process.pid)
        return child

    async def _handshake(self, child: _Child) -> None:
        if self.config.protocol == MODERN_VERSION:
            self._negotiated = MODERN_VERSION
            child.ready = True
            self._failures = 0
            return
        params = {
            "protocolVersion": HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": CLIENT_INFO,
        }
        message = await self._call(child, "initialize", params, Progress(), handshake=True)
        result = result_of(self.name, message)
        version = result.get("protocolVersion")
        if version not in HANDSHAKE_PROTOCOL_VERSIONS:
            raise TargetUnavailable(
                self.name, "transport", f"server chose unsupported protocol version {version!r}"
            )
        await self._write(child, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        self._negotiated = str(version)
        child.ready = True
        self._failures = 0

    async def _call(
        self,
        child: _Child,
        method: str,
        params: dict[str, Any],
        progress: Progress,
        *,
        handshake: bool = False,
    ) -> dict[str, Any]:
        if not handshake and self._negotiated == MODERN_VERSION:
            add_modern_meta(params)
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        child.pending[request_id] = future
        try:
            await self._write(
                child, {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            )
            progress.sent = True
            return await future
        except asyncio.CancelledError:
            if progress.sent and not child.dead:
                self._cancel_remote(child, request_id)
            raise
        finally:
            child.pending.pop(request_id, None)

    async def _write(self, child: _Child, message: Mapping[str, Any]) -> None:
        if child.dead:
            raise TargetUnavailable(
                self.name, "closed", "the server process has exited", may_have_run=False
            )
        stdin = child.process.stdin
        assert stdin is not None
        line = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        try:
            async with child.write_lock:
                stdin.write(line)
                await stdin.drain()
        except (BrokenPipeError, ConnectionResetError, RuntimeError) as exc:
            raise TargetUnavailable(
                self.name,
                "closed",
                f"cannot write to the server process: {exc}",
                may_have_run=False,
            ) from exc

    def _cancel_remote(self, child: _Child, request_id: int) -> None:
        notice = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": "timeout"},
        }
        stdin = child.process.stdin
        if stdin is not None and not stdin.is_closing():
            with contextlib.suppress(Exception):
                stdin.write(json.dumps(notice, separators=(",", ":")).encode() + b"\n")

    # ----------------------------------------------------------------- reading

    async def _read_stdout(self, child: _Child) -> None:
        stdout = child.process.stdout
        assert stdout is not None
        reason = "the server process closed its stdout"
        try:
            while True:
                try:
                    line = await stdout.readline()
                except ValueError:
                    reason = "the server process wrote a line longer than the limit"
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except ValueError:
                    logger.warning(
                        "target %s: ignoring a stdout line that is not JSON: %.200r",
                        self.name,
                        line,
                    )
                    continue
                if isinstance(message, dict):
                    await self._dispatch(child, message)
        finally:
            await self._child_gone(child, reason)

    async def _dispatch(self, child: _Child, message: dict[str, Any]) -> None:
        method = message.get("method")
        if isinstance(method, str):
            if "id" in message:
                reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
                if method == "ping":
                    reply["result"] = {}
                else:
                    reply["error"] = {"code": -32601, "message": f"method not supported: {method}"}
                with contextlib.suppress(TargetUnavailable):
                    await self._write(child, reply)
            else:
                self._on_notification(method, message.get("params"))
            return
        request_id = message.get("id")
        future = child.pending.get(request_id) if isinstance(request_id, int) else None
        if future is not None and not future.done():
            future.set_result(message)

    async def _read_stderr(self, child: _Child) -> None:
        stderr = child.process.stderr
        assert stderr is not None
        with contextlib.suppress(ValueError):
            while line := await stderr.readline():
                text = line.decode("utf-8", errors="replace").rstrip()
                if text:
                    logger.info("target %s stderr: %s", self.name, text)

    async def _child_gone(self, child: _Child, reason: str) -> None:
        if child.dead:
            return
        child.dead = True
        error = TargetUnavailable(self.name, "closed", reason, may_have_run=True)
        for future in child.pending.values():
            if not future.done():
                future.set_exception(error)
        if child.ready and not self._closed:
            logger.warning("target %s: %s (pid %d)", self.name, reason, child.process.pid)
            self._schedule_backoff()
        # Reap it (no zombie); it may still run if it only closed its stdout.
        process = child.process
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_GRACE):
                await process.wait()
        if process.returncode is None:
            _signal_group(process, signal.SIGKILL)
            await process.wait()
        self._children.discard(child)

    def _abandon(self, child: _Child) -> None:
        """Kills a child that failed its handshake; its stdout reader reaps it."""
        _signal_group(child.process, signal.SIGKILL)
        if self._child is child:
            self._child = None

    async def _stop_child(self, child: _Child, reason: str) -> None:
        process = child.process
        if process.returncode is None:
            stdin = process.stdin
            if stdin is not None and not stdin.is_closing():
                stdin.close()
            for sig, grace in (
                (None, CLOSE_GRACE / 2),
                (signal.SIGTERM, CLOSE_GRACE),
                (signal.SIGKILL, None),
            ):
                if sig is not None:
                    _signal_group(process, sig)
                try:
                    async with asyncio.timeout(grace):
                        await process.wait()
                    break
                except TimeoutError:
                    continue
        else:
            _signal_group(process, signal.SIGKILL)  # leftovers of its group, if any
        child.dead = True
        error = TargetUnavailable(self.name, "closed", reason, may_have_run=True)
        for future in child.pending.values():
            if not future.done():
                future.set_exception(error)
        for task in child.tasks:
            task.cancel()
        for task in child.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._child is child:
            self._child = None
        self._children.discard(child)


def _signal_group(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    """Signals the child's whole process group (it leads one: start_new_session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
