"""What traces cost: off, on with sampling 0, on with sampling 1, side by side in one run.

    python bench/bench_tracing.py [--seconds 3] [--rounds 3] [--concurrency 8] [--calls 20000]
                                  [--in-process-only] [--before REV]

Two measurements, each interleaved (round after round, the modes in turn) so machine
noise hits them alike:

1. The tracing work of one request, in this process: what the doors, the service and a
   target do for one Route with one attempt (server span, decision attributes, client span,
   context into `_meta` and the `traceparent` header, the trace id for the answer, the usage
   row and the exemplar), `--calls` times. CPU per request is this process's CPU time, the
   exporter's thread included (it exports to the stand-in collector in another process).
   Beside it, the floor: the OpenTelemetry SDK alone doing the least a traced request needs
   (a server span and a client span started and ended with one attribute each, W3C extract
   and inject, the SDK's own BatchSpanProcessor and OTLP exporter), in the same loop; and the
   same floor exporting through the coordinator's encoder, so that the difference to the
   coordinator's row is what its attributes and its own code cost.
2. End to end: three `mcp-coordinator serve` processes (pinned to CPU 0), one per mode, in
   front of one sample MCP server, exporting to the stand-in OTLP collector
   (`tests/support/otlp_collector.py`, pinned to CPU 1). wrk (CPU 1) drives two REST
   paths: a cache hit (a read-only tool call, answered from the in-process cache) and a
   live Route (the same call with `no_cache`). Per mode and path: the coordinator's CPU per
   request (its exporter thread included), req/s and p50 at `--concurrency`.

Budget: off costs under 2 µs CPU per request; on with sampling 1 at most 30 µs more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import aiohttp
import uvloop

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import trace as otel_trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402
from opentelemetry.trace.propagation.tracecontext import (  # noqa: E402
    TraceContextTextMapPropagator,
)

from bench import loadgen  # noqa: E402
from bench.measure import cpu_seconds, pin  # noqa: E402
from coordinator import tracing  # noqa: E402
from coordinator.operations import Operation  # noqa: E402
from coordinator.service import Attempt, RequestTrace  # noqa: E402
from tests.support.mcp_servers import SampleServer, free_port  # noqa: E402

API_KEY = "bench-key"
HEADERS = {"Content-Type": "application/json", "X-API-Key": API_KEY}
TOOL_CALL: dict[str, object] = {
    "tool": "get_record",
    "arguments": {"model": "hr.expense", "record_id": 1},
}
TARGET_URL = "http://127.0.0.1:8069/mcp"
PATHS = {"cache hit": TOOL_CALL, "live Route": {**TOOL_CALL, "no_cache": True}}
SERVER_CPU, CLIENT_CPU = 0, 1
MODES = {
    "off": {},
    "on, sampling 0": {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"},
    "on, sampling 1": {"OTEL_TRACES_SAMPLER": "always_on"},
}
_OTEL_KEYS = ("OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_EXPORTER_OTLP_ENDPOINT")


def start_collector() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.otlp_collector", str(port)],
        env=env,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.readline()  # "listening ..."
    pin(process.pid, CLIENT_CPU)
    return process, f"http://127.0.0.1:{port}"


# -- 1. the tracing work of one request, in process ----------------------------------------


async def one_request(
    operation: Operation, headers: dict[str, str], module: ModuleType = tracing
) -> None:
    """What the REST door, the service, a target and the observer do about tracing
    (`module`: coordinator.tracing, or an earlier revision of it, see `--before`)."""
    trace = RequestTrace(target="odoo_prod", rule="explicit", reason="Explicit target")
    current = module is tracing

    async def handler() -> str:
        attempt = (
            module.attempt_span(
                "odoo_prod",
                "http",
                operation,
                "query",
                url=TARGET_URL,
                protocol_version="2025-11-25",
            )
            if current
            else module.attempt_span("odoo_prod", "http", operation, "query")
        )
        with attempt as span:
            params: dict[str, object] = {"name": "get_record", "arguments": {}}
            module.inject_meta(params)
            sent = dict(headers)
            module.inject_headers(sent)
            span.finished(Attempt("odoo_prod", "ok", 1.0))
        answer_trace_id: str = module.current_trace_id()
        module.current_trace_id()  # the observer: usage row, log line, exemplar
        module.record_decision(trace, "OK")
        return answer_trace_id

    if not current and "http_server_call" in vars(module):  # before the door opened the span
        await module.http_server_call(handler(), "POST", "/route", "/route", headers)
        return
    with module.http_server_span("POST", "/route", "/route", "http", headers):
        await handler()


def tracing_at(revision: str) -> ModuleType:
    """coordinator/tracing.py as it was at git `revision`, loaded beside the current one."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{revision}:coordinator/tracing.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = ModuleType(f"tracing_{revision}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:coordinator/tracing.py", "exec"), module.__dict__)
    return module


async def untraced_request(operation: Operation, headers: dict[str, str]) -> None:
    """`one_request` without a call into coordinator.tracing: the baseline."""
    RequestTrace(target="odoo_prod", rule="explicit", reason="Explicit target")

    async def handler() -> str:
        params: dict[str, object] = {"name": "get_record", "arguments": {}}
        params.get("_meta")
        dict(headers)
        Attempt("odoo_prod", "ok", 1.0)
        return ""

    await handler()


_PROPAGATOR = TraceContextTextMapPropagator()


def bare_sdk_request(tracer: otel_trace.Tracer, headers: dict[str, str]) -> None:
    """The floor: the least the SDK does for a traced request with one attempt."""
    parent = _PROPAGATOR.extract(headers)
    server = tracer.start_span(
        "POST /route", parent, kind=SpanKind.SERVER, attributes={"http.route": "/route"}
    )
    token = otel_context.attach(otel_trace.set_span_in_context(server))
    client = tracer.start_span(
        "tools/call get_record", kind=SpanKind.CLIENT, attributes={"mcp.method.name": "tools/call"}
    )
    inner = otel_context.attach(otel_trace.set_span_in_context(client))
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    otel_context.detach(inner)
    client.end()
    otel_context.detach(token)
    server.end()


FLUSH_EVERY = 500  # requests: the export queue (2048 spans) never overflows
FLOOR = "bare SDK floor (2 spans)"
FLOOR_LEAN = "bare SDK floor (2 spans), our encoder"


async def in_process_cpu(
    mode: str, calls: int, endpoint: str, before: ModuleType | None = None
) -> float:
    """CPU µs per request (this process, all threads: export included) for `calls` requests."""
    operation = Operation("tool", tool="get_record")
    headers = {"x-api-key": API_KEY}
    provider: TracerProvider | None = None
    async with contextlib.AsyncExitStack() as stack:
        if mode in (FLOOR, FLOOR_LEAN):
            provider = TracerProvider()  # the sampler from OTEL_*, as the coordinator's
            exporter = (
                OTLPSpanExporter(endpoint=endpoint, insecure=True)
                if mode == FLOOR
                else tracing._LeanOtlpExporter(endpoint=endpoint, insecure=True)
            )
            provider.add_span_processor(BatchSpanProcessor(exporter))
            tracer = provider.get_tracer("floor")
            stack.callback(provider.shutdown)

            async def request(operation: Operation, headers: dict[str, str]) -> None:
                bare_sdk_request(tracer, headers)

        elif mode == "baseline":
            request = untraced_request
        elif before is not None and mode.startswith(BEFORE):
            config = before.TracingConfig(endpoint=endpoint)
            opened = await stack.enter_async_context(before.open_tracing(config))
            provider = opened.provider

            async def request(operation: Operation, headers: dict[str, str]) -> None:
                await one_request(operation, headers, before)

        else:
            config = tracing.TracingConfig(endpoint=endpoint) if mode != "off" else None
            opened = await stack.enter_async_context(tracing.open_tracing(config))
            provider = opened.provider if opened is not None else None
            request = one_request
        for _ in range(200):
            await request(operation, headers)
        if provider is not None:
            provider.force_flush()
        started = time.process_time()
        for done in range(1, calls + 1):
            await request(operation, headers)
            if provider is not None and done % FLUSH_EVERY == 0:
                provider.force_flush()  # exports here, in this thread
        if provider is not None:
            provider.force_flush()
        return (time.process_time() - started) / calls * 1e6


IN_PROCESS_MODES = {
    "baseline": {},
    **MODES,
    FLOOR: MODES["on, sampling 1"],
    FLOOR_LEAN: MODES["on, sampling 1"],
}


BEFORE = "on, sampling 1, at"


async def in_process_rows(
    endpoint: str, calls: int, rounds: int, before: str | None
) -> dict[str, list[float]]:
    modes = dict(IN_PROCESS_MODES)
    earlier = None
    if before is not None:
        earlier = tracing_at(before)
        modes[f"{BEFORE} {before}"] = MODES["on, sampling 1"]
    results: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, env in modes.items():
            for key in _OTEL_KEYS:
                os.environ.pop(key, None)
            os.environ.update(env)
            results[mode].append(await in_process_cpu(mode, calls, endpoint, earlier))
    for key in _OTEL_KEYS:
        os.environ.pop(key, None)
    return results


# -- 2. end to end ---------------------------------------------------------------------------


class Coordinators:
    """One `mcp-coordinator serve` per mode, started together, stopped together."""

    def __init__(self, sample_url: str, endpoint: str) -> None:
        self._sample_url = sample_url
        self._endpoint = endpoint
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.urls: dict[str, str] = {}

    def __enter__(self) -> Coordinators:
        for mode, extra in MODES.items():
            http_port = free_port()
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
                "ODOO_PROD_MCP_URL": self._sample_url,
                "COORDINATOR_API_KEY": API_KEY,
                "GRPC_PORT": str(free_port()),
                "PORT": str(http_port),
                "LOG_LEVEL": "WARNING",
                "PROBE_INTERVAL": "3600",
                **extra,
            }
            env.pop("REDIS_URL", None)
            if extra:
                env["OTEL_EXPORTER_OTLP_ENDPOINT"] = self._endpoint
            process = subprocess.Popen(
                [sys.executable, "-m", "coordinator", "serve"], env=env, stdout=subprocess.PIPE
            )
            assert process.stdout is not None
            process.stdout.readline()
            pin(process.pid, SERVER_CPU)
            self.processes[mode] = process
            self.urls[mode] = f"http://127.0.0.1:{http_port}/route"
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.wait(15)


async def check_answers(urls: dict[str, str]) -> None:
    """Every mode answers; the traced one gives a trace id, the others none."""
    async with aiohttp.ClientSession() as http:
        for mode, url in urls.items():
            for body in (TOOL_CALL, TOOL_CALL):  # the first fills the cache
                async with http.post(url, json=body, headers=HEADERS) as response:
                    answer = await response.json()
            assert answer["routing"]["cached"] is True, answer
            traced = mode == "on, sampling 1"
            assert bool(answer["routing"]["trace_id"]) is traced, (mode, answer["routing"])


Measured = dict[tuple[str, str], list[tuple[float, float, float]]]


def end_to_end_rows(
    urls: dict[str, str], pids: dict[str, int], args: argparse.Namespace
) -> Measured:
    results: Measured = {}

    def run(mode: str, body: bytes) -> tuple[float, float, float]:
        before = cpu_seconds(pids[mode])
        result = loadgen.wrk(
            urls[mode],
            body=body,
            headers=HEADERS,
            connections=args.concurrency,
            seconds=args.seconds,
            cpu=CLIENT_CPU,
        )
        cpu = (cpu_seconds(pids[mode]) - before) / result.requests * 1e6
        return cpu, result.rps, result.p50_ms

    for path, request in PATHS.items():
        body = json.dumps(request).encode()
        for mode in MODES:
            run(mode, body)  # warm-up
        for _ in range(args.rounds):
            for mode in MODES:
                results.setdefault((path, mode), []).append(run(mode, body))
    return results


def _median(values: Iterator[float]) -> float:
    return statistics.median(list(values))


async def main(args: argparse.Namespace) -> None:
    if not args.in_process_only:
        loadgen.require_tools()
    collector, endpoint = start_collector()
    sample = await SampleServer("odoo_prod", "production").start()
    end_to_end: Measured = {}
    try:
        in_process = await in_process_rows(endpoint, args.calls, args.rounds, args.before)
        if not args.in_process_only:
            with Coordinators(sample.url, endpoint) as coordinators:
                await check_answers(coordinators.urls)
                pids = {mode: p.pid for mode, p in coordinators.processes.items()}
                end_to_end = await asyncio.to_thread(end_to_end_rows, coordinators.urls, pids, args)
    finally:
        await sample.stop()
        collector.terminate()
        collector.wait(15)

    print(json.dumps(vars(args)))
    print("\nThe tracing work of one request, in process (median of rounds):\n")
    print("| mode | CPU µs/request | added to the baseline |")
    print("|---|---|---|")
    baseline = statistics.median(in_process["baseline"])
    for mode, values in in_process.items():
        cpu = statistics.median(values)
        print(f"| {mode} | {cpu:.2f} | {cpu - baseline:+.2f} |")
    ours = statistics.median(in_process["on, sampling 1"])
    for floor_mode in (FLOOR, FLOOR_LEAN):
        floor = statistics.median(in_process[floor_mode])
        print(f"\nOn with sampling 1 over the {floor_mode}: {ours - floor:+.2f} µs per request")
    if not end_to_end:
        return
    print(f"\nEnd to end, REST at concurrency {args.concurrency} (median of rounds):\n")
    print("| path | mode | coordinator CPU µs/request | added to off | req/s | p50 ms |")
    print("|---|---|---|---|---|---|")
    for path in PATHS:
        base = _median(cpu for cpu, _, _ in end_to_end[(path, "off")])
        for mode in MODES:
            rows = end_to_end[(path, mode)]
            cpu = _median(c for c, _, _ in rows)
            rps = _median(r for _, r, _ in rows)
            p50 = _median(p for _, _, p in rows)
            print(f"| {path} | {mode} | {cpu:.0f} | {cpu - base:+.0f} | {rps:,.0f} | {p50:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--calls", type=int, default=10000, help="in-process requests per round")
    parser.add_argument(
        "--in-process-only", action="store_true", help="skip the end-to-end measurement"
    )
    parser.add_argument(
        "--before",
        metavar="REV",
        help="also measure coordinator/tracing.py as at git revision REV (in process)",
    )
    uvloop.run(main(parser.parse_args()))
