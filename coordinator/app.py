"""The lifespan: builds every part from `Settings`, runs both doors in one event
loop, and drains on SIGTERM.

`Coordinator` is an async context manager that owns every resource (target
sessions and stdio children, the gRPC server, the HTTP server); leaving it
closes them in reverse order. `serve()` runs one until a signal arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Iterator
from contextlib import AsyncExitStack
from types import TracebackType

import uvicorn
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from coordinator import __version__
from coordinator.auth import KeyRing
from coordinator.cache import open_cache
from coordinator.config import Settings
from coordinator.dashboard import dashboard_routes
from coordinator.gateway import build_gateway
from coordinator.grpc_server import GrpcDoor, TlsFiles
from coordinator.http_guard import guarded_http
from coordinator.limits import InputLimits
from coordinator.mcpdoor import McpDoor, McpHttpApp
from coordinator.mcpdoor.http import admission
from coordinator.metrics import Metrics
from coordinator.observe import RequestObserver
from coordinator.probes import HealthProber, ProbePolicy
from coordinator.ratelimit import RateLimiter
from coordinator.rpc import SERVICE_DESCRIPTOR, coordinator_handlers
from coordinator.service import CoordinatorService
from coordinator.targets import Target, open_target
from coordinator.tracing import Tracing, TracingConfig, open_tracing
from coordinator.usage import open_usage_recorder
from coordinator.usage.readers import open_usage_reader

log = logging.getLogger(__name__)

WARM_UP_SECONDS = 30.0
# The in-process window the Usage RPC answers from when no database is configured.
USAGE_WINDOW_EVENTS = 10_000


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the coordinator owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Coordinator:
    """Everything one coordinator process runs, started and stopped together.

    With `network=False` (`mcp-coordinator stdio`) it listens on no port: the
    caller serves `mcp` over another transport.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        network: bool = True,
        tracing: TracingConfig | None = None,
    ) -> None:
        self.settings = settings
        self.network = network
        self.tracing_config = tracing  # None: no traces (coordinator.tracing)
        self.tracing: Tracing | None = None
        self.targets: dict[str, Target] = {}
        self.observer: RequestObserver | None = None
        self.mcp: McpDoor | None = None
        self._stack = AsyncExitStack()
        self.service: CoordinatorService | None = None
        self.metrics: Metrics | None = None
        self.grpc: GrpcDoor | None = None
        self._http: _EmbeddedUvicorn | None = None
        self._http_task: asyncio.Task[None] | None = None
        self.http_port = 0
        # For other doors (/mcp, /dashboard) to authenticate, limit and observe as rpc.py does.
        self.keyring: KeyRing | None = None
        self.limiter: RateLimiter | None = None
        self.limits: InputLimits | None = None

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
        # Entered first, closed last: spans of every call are exported.
        self.tracing = tracing = await self._stack.enter_async_context(
            open_tracing(self.tracing_config)
        )
        # Entered first, closed last: events of calls that drain are still written.
        recorder = await self._stack.enter_async_context(
            open_usage_recorder(
                database_url=settings.database_url,
                supabase_url=settings.supabase_url,
                supabase_key=settings.supabase_service_role_key,
                ring_size=USAGE_WINDOW_EVENTS,
            )
        )
        usage_reader = await self._stack.enter_async_context(
            open_usage_reader(
                recorder,
                database_url=settings.database_url,
                supabase_url=settings.supabase_url,
                supabase_key=settings.supabase_service_role_key,
            )
        )
        self.metrics = Metrics(settings.target_names)
        self.metrics.bind_usage(recorder.stats)
        if tracing is not None:
            self.metrics.registry.register(tracing)
        targets = self.targets
        for target_config in settings.targets:
            if not target_config.enabled:
                continue  # never connected, probed or warmed up
            targets[target_config.name] = await self._stack.enter_async_context(
                open_target(target_config)
            )
        cache = await self._stack.enter_async_context(
            open_cache(settings.redis_url, ttl=settings.cache_ttl)
        )
        self.service = CoordinatorService(settings, targets, cache=cache)
        self.metrics.bind_cache(cache.stats)
        await self._stack.enter_async_context(
            HealthProber(
                targets,
                ProbePolicy(interval=settings.probe_interval, timeout=settings.probe_timeout),
                on_change=self.service.on_probe,
                on_reached=self.service.on_probe_reached,
            )
        )
        observer = self.observer = RequestObserver(recorder, self.metrics)
        limits = self.limits = InputLimits(
            max_request_bytes=settings.max_request_bytes,
            max_json_depth=settings.max_json_depth,
            max_string_length=settings.max_string_length,
            max_key_length=settings.max_key_length,
        )
        self.mcp = McpDoor(self.service, targets, observer=observer, limits=limits)
        if not self.network:
            self._stack.callback(self.mcp.close)
            self._warm_up(targets)
            return
        keyring = self.keyring = KeyRing.from_settings(settings)
        if not keyring.enabled:
            log.warning(
                "no API key configured: every caller may use every scope (HOST %s%s)",
                settings.host,
                ", ALLOW_UNAUTHENTICATED=true" if settings.allow_unauthenticated else "",
            )
        self.limiter = await self._stack.enter_async_context(
            RateLimiter(settings.redis_url, replicas=settings.rate_limit_replicas)
        )
        self.mcp.limiter = self.limiter
        handlers = coordinator_handlers(
            self.service,
            keyring,
            observer,
            limiter=self.limiter,
            limits=limits,
            usage=usage_reader,
        )
        services = [(SERVICE_DESCRIPTOR, handlers)]
        tls = (
            TlsFiles(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
            if settings.tls_cert_file and settings.tls_key_file
            else None
        )

        self.grpc = await self._stack.enter_async_context(
            GrpcDoor(
                services,
                host=settings.host,
                port=settings.grpc_port,
                limits=limits,
                handshake_timeout=settings.header_timeout,
                max_connections=settings.max_connections,
                tls=tls,
            )
        )

        mcp_app = await self._stack.enter_async_context(
            McpHttpApp(
                self.mcp,
                admission(keyring, self.limiter, observer),
                host=settings.host,
                cors_origins=settings.cors_origins,
                max_body_bytes=settings.max_request_bytes,  # as on the other doors
            ).running()
        )
        # The gateway is the outer app so every path, even one Starlette's Mount
        # cannot match, gets a google.rpc.Status answer.
        http_app = build_gateway(
            services=services,
            limits=limits,
            extra_routes=[
                Route("/metrics", self._metrics_endpoint, methods=["GET"]),
                *dashboard_routes(),
            ],
            apps={"/mcp": mcp_app},
        )
        if settings.cors_origins:
            http_app.add_middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                # DELETE and the MCP headers: a browser MCP host ends its session and names
                # the session, revision, method and tool on /mcp (Mcp-Param-* cannot be listed).
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=[
                    "X-API-Key",
                    "Authorization",
                    "Content-Type",
                    "X-Request-Id",
                    "X-Request-Timeout",
                    "X-Coordinator-Context",
                    "X-Coordinator-Target",
                    "Mcp-Session-Id",
                    "MCP-Protocol-Version",
                    "Mcp-Method",
                    "Mcp-Name",
                    "Last-Event-ID",
                ],
                expose_headers=[
                    "X-Request-Id",
                    "Retry-After",
                    "RateLimit",
                    "RateLimit-Policy",
                    "Mcp-Session-Id",
                    "WWW-Authenticate",
                ],
                max_age=600,
            )
        config = uvicorn.Config(
            http_app,
            host=settings.host,
            port=settings.port,
            http=guarded_http(
                header_timeout=settings.header_timeout,
                body_timeout=settings.body_timeout,
                max_connections=settings.max_connections,
            ),
            # Client certificates are asked for on the gRPC door only: the HTTP door keeps
            # serving the health check (and browsers) with keys alone.
            ssl_certfile=settings.tls_cert_file,
            ssl_keyfile=settings.tls_key_file,
            lifespan="off",
            access_log=False,
            log_config=None,  # logging is configured once, by the CLI, not by uvicorn
            timeout_graceful_shutdown=int(max(1, settings.drain_seconds)),
        )
        self._http = _EmbeddedUvicorn(config)
        self._warm_up(targets)
        self._http_task = asyncio.create_task(self._http.serve(), name="http-door")
        while not self._http.started:
            if self._http_task.done():
                self._http_task.result()  # re-raises the bind error
                raise OSError(f"HTTP door on {settings.host}:{settings.port} did not start")
            await asyncio.sleep(0.01)
        self.http_port = self._http.servers[0].sockets[0].getsockname()[1]
        self._stack.push_async_callback(self._stop_http)
        log.info(
            "coordinator serving gRPC%s on %s:%d and HTTP%s on %s:%d; targets %s",
            " (TLS)" if tls else "",
            settings.host,
            self.grpc_port,
            "S" if tls else "",
            settings.host,
            self.http_port,
            ", ".join(settings.target_names) or "(none)",
        )

    def _warm_up(self, targets: dict[str, Target]) -> None:
        for name, target in targets.items():
            warm_up = asyncio.create_task(_warm_up(target), name=f"warm-up-{name}")
            self._stack.callback(warm_up.cancel)

    async def _metrics_endpoint(self, request: Request) -> Response:
        """Prometheus text; breaker states are read at scrape time."""
        assert self.service is not None
        assert self.metrics is not None
        for name, report in self.service.status().targets.items():
            self.metrics.set_circuit_state(name, report.circuit)
        if self.limiter is not None:
            self.metrics.set_rate_limit_local(self.limiter.state().backend == "local")
        body, content_type = self.metrics.render(request.headers.get("accept", ""))
        return Response(body, media_type=content_type)

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


async def _warm_up(target: Target) -> None:
    """Connects and fetches the tool list in the background, so the first request
    does not pay for a stdio child's start-up and capability routing has lists."""
    try:
        await target.list_tools(timeout=WARM_UP_SECONDS)
    except Exception as exc:  # the target may be down: requests will say so
        log.info("target %s not reachable at start-up: %s", target.name, exc)


def _freeze_startup_heap() -> None:
    """Moves everything start-up created out of the garbage collector's sight.

    The imported modules, gRPC, the SDK and the targets are about 120,000
    objects that live as long as the process; each full collection walked
    them all, an 80 ms pause in the middle of whichever request triggered it.
    Frozen, a full collection only walks what requests created since.
    """
    gc.collect()
    gc.freeze()


async def serve(settings: Settings, tracing: TracingConfig | None = None) -> None:
    """Runs a coordinator until SIGTERM or SIGINT, then drains and exits."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Coordinator(settings, tracing=tracing) as coordinator:
            _freeze_startup_heap()
            print(
                f"mcp-coordinator {__version__}"
                f" gRPC {settings.host}:{coordinator.grpc_port}"
                f" HTTP {'https' if settings.tls_cert_file else 'http'}://"
                f"{settings.host}:{coordinator.http_port}",
                flush=True,
            )
            await stop.wait()
            await coordinator.drain()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
