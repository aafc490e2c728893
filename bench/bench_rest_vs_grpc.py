"""REST (the google.api.http gateway) vs gRPC, same handlers, one run.

Both servers serve `CoordinatorService.Route` with the same in-process
handler, one at a time, each in its own process pinned to CPU 0 while the
load generator runs pinned to CPU 1 (wrk for HTTP, Node.js grpc-js for gRPC,
from `bench/loadgen.py`, so the client's cost stays out of the Python process):

  REST  uvicorn + uvloop + httptools, `coordinator.gateway.build_gateway`
  gRPC  grpc.aio with a `grpc.method_handlers_generic_handler` (defined here)

Two handlers: `fast` returns a prebuilt answer (the shape of a cache hit),
`trivial` builds the answer from the request (a trivial in-process target).
For each: p50/p99 of sequential calls on one connection, throughput with
`--concurrency` connections (REST) or concurrent calls on one channel (gRPC),
and server CPU per request (from /proc/<pid>/stat). The handler's own cost and
the gateway's in-process cost (no sockets) are measured too.

    taskset -c 1 .venv/bin/python bench/bench_rest_vs_grpc.py [--write-results]

Every phase is bounded by a duration or a call count, and a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from mcpcoordinator.v1 import coordinator_pb2 as pb

from coordinator.calls import CallContext, ServiceHandlers, UnaryHandler
from coordinator.errors import CoordinatorError, ErrorCode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loadgen

SERVICE = pb.DESCRIPTOR.services_by_name["CoordinatorService"]
ROUTE_METHOD = "/mcpcoordinator.v1.CoordinatorService/Route"
API_KEY = "bench-key"
REQUEST_JSON = b'{"query":"List all skills","context":{"finance-ssc":true},"target":"odoo_prod"}'
REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"
SECTION_START = "<!-- rest-vs-grpc:start -->"
SECTION_END = "<!-- rest-vs-grpc:end -->"
SERVER_CPU = 0
CLIENT_CPU = 1
PHASE_TIMEOUT = 300.0


# --- the handlers both doors serve --------------------------------------------


def _check_key(context: CallContext) -> None:
    if context.metadata.get("x-api-key") != API_KEY:
        raise CoordinatorError(ErrorCode.UNAUTHENTICATED, "missing or wrong API key")


def _cached_answer() -> pb.RouteResponse:
    response = pb.RouteResponse()
    response.data.struct_value.update(
        {"content": [{"type": "text", "text": "42 skills"}], "isError": False}
    )
    routing = response.routing
    routing.target = "odoo_prod"
    routing.reason = "Finance SSC context requires production data"
    routing.confidence = 0.95
    routing.rule = "context:finance-ssc"
    routing.cached = True
    routing.attempts.add(target="odoo_prod", outcome="ok", latency_ms=0.0)
    return response


_CACHED = _cached_answer()


async def fast_route(request: Message, context: CallContext) -> Message:
    _check_key(context)
    return _CACHED


async def trivial_route(request: Message, context: CallContext) -> Message:
    _check_key(context)
    assert isinstance(request, pb.RouteRequest)
    response = pb.RouteResponse()
    response.data.struct_value.update(
        {"content": [{"type": "text", "text": request.query}], "isError": False}
    )
    routing = response.routing
    routing.target = request.target or "odoo_prod"
    routing.reason = "explicit target"
    routing.confidence = 1.0
    routing.rule = "explicit"
    routing.attempts.add(target=routing.target, outcome="ok", latency_ms=0.01)
    return response


async def _unused(request: Message, context: CallContext) -> Message:
    raise CoordinatorError(ErrorCode.UNIMPLEMENTED, "not benchmarked")


BARE_LABEL = "bare Starlette (yardstick)"
FAST_PATH_BUDGET_RPS = 8_000  # the REST fast path's budget, per process
DOORS = (("rest", "REST"), ("grpc", "gRPC"), ("bare", BARE_LABEL))
MODES: dict[str, UnaryHandler] = {"fast": fast_route, "trivial": trivial_route}


def handlers_for(mode: str) -> ServiceHandlers:
    return {"Route": MODES[mode], "Aggregate": _unused, "Health": _unused, "Status": _unused}


# --- servers (run in child processes) ---------------------------------------------


def _grpc_route_handler(handler: UnaryHandler) -> grpc.RpcMethodHandler[Any, Any]:
    async def behavior(request: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        metadata = {
            key: value
            for key, value in (context.invocation_metadata() or ())
            if isinstance(value, str)
        }
        remaining = context.time_remaining()
        deadline = None if remaining is None else time.monotonic() + remaining
        call = CallContext("grpc", ROUTE_METHOD, metadata, deadline)
        try:
            return await handler(request, call)
        except CoordinatorError as error:
            await context.abort(error.grpc_status, error.message)
            raise  # abort() raises; never reached

    return grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=pb.RouteRequest.FromString,
        response_serializer=pb.RouteResponse.SerializeToString,
    )


async def _serve_grpc(mode: str) -> None:
    server = grpc.aio.server()
    route = _grpc_route_handler(handlers_for(mode)["Route"])
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, {"Route": route}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"PORT {port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(grace=None)


def _bare_starlette_app() -> Any:
    """The yardstick: a hand-written Starlette route, JSON in, fixed JSON out."""
    import json

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from coordinator.gateway.jsonmap import CodecRegistry, dump_json

    answer = dump_json(
        CodecRegistry().codec(pb.DESCRIPTOR.message_types_by_name["RouteResponse"]).encode(_CACHED)
    )

    async def route(request: Request) -> Response:
        json.loads(await request.body())
        return Response(answer, media_type="application/json")

    return Starlette(routes=[Route("/route", route, methods=["POST"])])


def _serve_rest(mode: str, *, bare: bool = False) -> None:
    import socket

    import uvicorn

    from coordinator.gateway import build_gateway

    app: Any = build_gateway(services=[(SERVICE, handlers_for(mode))])
    if bare:
        app = _bare_starlette_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)  # connections queue until uvicorn accepts them
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve(door: str, mode: str) -> None:
    os.sched_setaffinity(0, {SERVER_CPU})
    if door in ("rest", "bare"):
        _serve_rest(mode, bare=door == "bare")
    else:
        asyncio.run(_serve_grpc(mode))


# --- load generation (parent process) ---------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_server(door: str, mode: str) -> Server:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", door, "--mode", mode],
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"{door} server did not start: {line!r}")
    return Server(process, int(line.split()[1]))


@dataclass
class DoorResult:
    p50_ms: float
    p99_ms: float
    rps: float
    cpu_us_per_request: float


def measure(door: str, mode: str, seconds: float, grpc_calls: int, concurrency: int) -> DoorResult:
    """Sequential latency, then throughput at `concurrency` with the server's CPU per request.

    REST and the bare route are driven by wrk, gRPC by Node.js grpc-js
    (`bench/loadgen.py`), pinned to the client CPU.
    """
    server = start_server(door, mode)
    pid = server.process.pid
    try:
        if door == "grpc":
            profile = loadgen.profile_grpc(
                f"127.0.0.1:{server.port}",
                json.loads(REQUEST_JSON),
                api_key=API_KEY,
                pid=pid,
                calls=grpc_calls,
                concurrency=concurrency,
                cpu=CLIENT_CPU,
            )
        else:
            profile = loadgen.profile_rest(
                f"http://127.0.0.1:{server.port}/route",
                REQUEST_JSON,
                headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
                pid=pid,
                seconds=seconds,
                concurrency=concurrency,
                cpu=CLIENT_CPU,
            )
        return DoorResult(
            p50_ms=profile.sequential.p50_ms,
            p99_ms=profile.sequential.p99_ms,
            rps=profile.loaded.rps,
            cpu_us_per_request=profile.cpu_us_per_request,
        )
    finally:
        server.stop()


# --- in-process costs ----------------------------------------------------------


def handler_cost_us(mode: str, calls: int) -> float:
    handler = MODES[mode]
    request = pb.RouteRequest(query="List all skills", target="odoo_prod")
    context = CallContext("http", ROUTE_METHOD, {"x-api-key": API_KEY})

    async def loop() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await handler(request, context)
        return time.perf_counter() - started

    return asyncio.run(loop()) / calls * 1e6


def gateway_cost_us(mode: str, calls: int) -> float:
    """The gateway app called in process (ASGI scope, no sockets), handler included."""
    from coordinator.gateway import build_gateway

    app = build_gateway(services=[(SERVICE, handlers_for(mode))])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/route",
        "raw_path": b"/route",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"x-api-key", API_KEY.encode()),
            (b"content-length", str(len(REQUEST_JSON)).encode()),
        ],
        "server": ("127.0.0.1", 1),
        "client": ("127.0.0.1", 2),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": REQUEST_JSON, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"gateway answered {message['status']}")

    async def loop() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            await app(scope, receive, send)
        return time.perf_counter() - started

    return asyncio.run(loop()) / calls * 1e6


# --- report ------------------------------------------------------------------------


def render(
    results: dict[str, dict[str, DoorResult]],
    costs: dict[str, tuple[float, float]],
    command: str,
    args: argparse.Namespace,
    load: tuple[float, float],
) -> str:
    lines = [
        "## REST vs gRPC",
        "",
        "`bench/bench_rest_vs_grpc.py`: `CoordinatorService.Route` with the same",
        "in-process handler behind the HTTP/JSON gateway (uvicorn + uvloop + httptools) and",
        "behind grpc.aio (generic handler), one server at a time pinned to CPU 0, the load",
        "generator pinned to CPU 1: wrk for HTTP, Node.js grpc-js for gRPC (`bench/loadgen.py`).",
        f"Latency: one call at a time on one connection ({args.seconds:g} s of wrk, or",
        f"{args.grpc_calls // 2} gRPC calls). Throughput: {args.concurrency} connections (REST) or",
        f"{args.concurrency} calls in flight on one channel (gRPC), {args.seconds:g} s of wrk or",
        f"{args.grpc_calls} gRPC calls.",
        "`fast` returns a prebuilt answer (a cache hit's shape); `trivial` builds it from the",
        "request; the bare Starlette row (a hand-written route: JSON in, fixed JSON out) is the",
        "yardstick of what uvicorn + Starlette cost on this machine at the time. Server CPU from",
        f"/proc/<pid>/stat. {time.strftime('%Y-%m-%d', time.gmtime())}, command:",
        "",
        f"    {command}",
        "",
        f"Load average (1 min) before / after the run: {load[0]:.2f} / {load[1]:.2f} on 2 cores.",
        "`capacity` is 10^6 / server CPU µs per request: the req/s one core serves at that cost.",
        "",
        "| handler | door | p50 ms | p99 ms | req/s | server CPU µs/req | capacity req/s/core |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, doors in results.items():
        for door, result in doors.items():
            lines.append(
                f"| {mode} | {door} | {result.p50_ms:.3f} | {result.p99_ms:.3f} | "
                f"{result.rps:,.0f} | {result.cpu_us_per_request:.0f} | "
                f"{1e6 / result.cpu_us_per_request:,.0f} |"
            )
    lines += [
        "",
        "| handler | REST p50 / gRPC p50 | REST req/s / gRPC req/s | REST CPU / gRPC CPU "
        "| REST CPU / bare Starlette CPU |",
    ]
    lines.append("|---|---|---|---|---|")
    bare = next(iter(results.values()))[BARE_LABEL]
    for mode, doors in results.items():
        rest, grpc_ = doors["REST"], doors["gRPC"]
        lines.append(
            f"| {mode} | {rest.p50_ms / grpc_.p50_ms:.2f} | {rest.rps / grpc_.rps:.2f} | "
            f"{rest.cpu_us_per_request / grpc_.cpu_us_per_request:.2f} | "
            f"{rest.cpu_us_per_request / bare.cpu_us_per_request:.2f} |"
        )
    first = next(iter(results))
    rest = results[first]["REST"]
    ratio = rest.cpu_us_per_request / bare.cpu_us_per_request
    lines += [
        "",
        f"Reading it: on the `{first}` path REST serves {rest.rps:,.0f} req/s (budget"
        f" {FAST_PATH_BUDGET_RPS:,}) at {rest.p50_ms / results[first]['gRPC'].p50_ms:.2f}x",
        f"gRPC's p50, and costs {ratio:.2f}x the CPU per request of the bare Starlette route"
        " (budget: 1.10x).",
    ]
    lines += [
        "",
        "In process, no sockets (µs per call): the handler alone, and the gateway app around it",
        "(headers, route match, JSON -> message, handler, message -> JSON).",
        "",
        "| handler | handler µs | gateway app µs (handler included) |",
        "|---|---|---|",
    ]
    for mode, (handler_us, gateway_us) in costs.items():
        lines.append(f"| {mode} | {handler_us:.1f} | {gateway_us:.1f} |")
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{SECTION_START}\n{section}{SECTION_END}\n"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


def run_all(args: argparse.Namespace) -> dict[str, dict[str, DoorResult]]:
    results: dict[str, dict[str, DoorResult]] = {}
    for mode in args.modes:
        results[mode] = {}
        for door, label in DOORS:
            if door == "bare" and mode != args.modes[0]:
                continue  # the yardstick ignores the handler: measure it once
            results[mode][label] = measure(
                door, mode, args.seconds, args.grpc_calls, args.concurrency
            )
            print(mode, label, results[mode][label], flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", choices=["rest", "grpc", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=sorted(MODES), default="fast", help=argparse.SUPPRESS)
    parser.add_argument("--modes", nargs="+", choices=sorted(MODES), default=["fast", "trivial"])
    parser.add_argument("--seconds", type=float, default=5.0, help="per wrk run")
    parser.add_argument("--grpc-calls", type=int, default=8000, help="per loaded gRPC run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.mode)
        return
    os.sched_setaffinity(0, {CLIENT_CPU})
    loadgen.require_tools()
    load_before = os.getloadavg()[0]
    results = run_all(args)
    costs = {
        mode: (handler_cost_us(mode, 20000), gateway_cost_us(mode, 20000)) for mode in args.modes
    }
    command = "taskset -c 1 .venv/bin/python bench/bench_rest_vs_grpc.py " + " ".join(sys.argv[1:])
    load = (load_before, os.getloadavg()[0])
    section = render(results, costs, command.strip(), args, load)
    print(section)
    if args.write_results:
        write_section(section)


if __name__ == "__main__":
    main()
