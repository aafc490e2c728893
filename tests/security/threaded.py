"""A real coordinator running in a thread of its own, for synchronous clients
(schemathesis, a blocking gRPC channel) driving it from the test's thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from coordinator.app import Coordinator
from coordinator.config import Settings


@dataclass(frozen=True)
class Served:
    http_url: str
    grpc_address: str


@contextmanager
def coordinator_in_thread(settings: Settings, *, timeout: float = 30.0) -> Iterator[Served]:
    ready = threading.Event()
    started: list[Served] = []
    failure: list[BaseException] = []
    loop_box: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop_box.append((asyncio.get_running_loop(), stop))
        try:
            async with Coordinator(settings) as coordinator:
                started.append(
                    Served(
                        f"http://127.0.0.1:{coordinator.http_port}",
                        f"127.0.0.1:{coordinator.grpc_port}",
                    )
                )
                ready.set()
                await stop.wait()
        except BaseException as error:
            failure.append(error)
            ready.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="coordinator")
    thread.start()
    if not ready.wait(timeout) or failure:
        raise RuntimeError(f"coordinator did not start: {failure!r}")
    try:
        yield started[0]
    finally:
        loop, stop = loop_box[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
