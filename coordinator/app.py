"""The lifespan: builds every part from `Settings`, runs both doors in one event
loop, and drains on SIGTERM.

`Coordinator` is an async context manager that owns every resource (target
sessions and stdio children, the gRPC server, the HTTP server); leaving it
closes them in reverse order. `serve()` runs one until a signal arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from contextlib import AsyncExitStack
from types import TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from coordinator import __version__
from coordinator.config import Settings
from coordinator.gateway import build_gateway
from coordinator.grpc_server import GrpcDoor
from coordinator.rpc import SERVICE_DESCRIPTOR, coordinator_handlers
from coordinator.service import CoordinatorService
from coordinator.targets import Target, open_target

log = logging.getLogger(__name__)


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the coordinator owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Coordinator:
    """Everything one coordinator process runs, started and stopped together."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = AsyncExitStack()
        self.service: CoordinatorService | None = None
        self.grpc: GrpcDoor | None = None
        self._http: _EmbeddedUvicorn | None = None
        self._http_task: asyncio.Task[None] | None = None
        self.http_port = 0

    @property
    def grpc_port(self) -> int:
        return self.grpc.port if self.grpc else 0

    async def __aenter__(self) -> Coordinator:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _start(self) -> None:
        settings = self.settings
        targets: dict[str, Target] = {}
        for config in settings.targets:
            targets[config.name] = await self._stack.enter_async_context(open_target(config))
        self.service = CoordinatorService(settings, targets)
        handlers = coordinator_handlers(self.service, settings.api_key)
        services = [(SERVICE_DESCRIPTOR, handlers)]

        self.grpc = await self._stack.enter_async_context(
            GrpcDoor(services, host=settings.host, port=settings.grpc_port)
        )

        http_app = Starlette(routes=[Mount("/", build_gateway(services=services))])
        config = uvicorn.Config(
            http_app,
            host=settings.host,
            port=settings.port,
            http="httptools",
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=int(max(1, settings.drain_seconds)),
        )
        self._http = _EmbeddedUvicorn(config)
        self._http_task = asyncio.create_task(self._http.serve(), name="http-door")
        while not self._http.started:
            if self._http_task.done():
                self._http_task.result()  # re-raises the bind error
                raise OSError(f"HTTP door on {settings.host}:{settings.port} did not start")
            await asyncio.sleep(0.01)
        self.http_port = self._http.servers[0].sockets[0].getsockname()[1]
        self._stack.push_async_callback(self._stop_http)
        log.info(
            "coordinator serving gRPC on %s:%d and HTTP on %s:%d; targets %s",
            settings.host,
            self.grpc_port,
            settings.host,
            self.http_port,
            ", ".join(settings.target_names) or "(none)",
        )

    async def drain(self) -> None:
        """SIGTERM: health turns NOT_SERVING, new calls are refused, in-flight calls
        get up to `drain_seconds` to finish; then everything closes."""
        assert self.service is not None
        assert self.grpc is not None
        log.info("draining: waiting up to %.1fs for in-flight calls", self.settings.drain_seconds)
        self.service.start_draining()
        await self.grpc.start_draining()
        await asyncio.gather(self.grpc.stop(self.settings.drain_seconds), self._stop_http())

    async def _stop_http(self) -> None:
        if self._http is None or self._http_task is None:
            return
        self._http.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._http_task

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()


async def serve(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Runs a coordinator until SIGTERM or SIGINT, then drains and exits."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Coordinator(settings) as coordinator:
            print(
                f"mcp-coordinator {__version__}"
                f" gRPC {settings.host}:{coordinator.grpc_port}"
                f" HTTP http://{settings.host}:{coordinator.http_port}",
                flush=True,
            )
            if ready is not None:
                ready.set()
            await stop.wait()
            await coordinator.drain()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
