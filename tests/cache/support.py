"""Helpers for the cache tests: a hand-moved clock and real redis-server processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

SHARED_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


class ManualClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RedisServer:
    """A redis-server of this test's own, on its own port, that the test can kill and restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server must be on PATH for the cache tests"
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", *NO_PERSISTENCE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_answering(deadline=time.monotonic() + 10)

    def kill(self) -> None:
        if self._process is None:
            return
        self._process.kill()
        self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers (a hung Redis)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def _wait_until_answering(self, deadline: float) -> None:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, f"redis-server on port {self.port} did not start"
            time.sleep(0.01)
