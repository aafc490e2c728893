"""A stand-in for an OpenTelemetry Collector: an OTLP/gRPC trace receiver of our own.

The Collector cannot be installed here, so the tests run this instead: a real gRPC server
implementing the OTLP `TraceService` from `opentelemetry-proto`'s generated code, which
keeps every span it receives. The coordinator's real exporter talks to it over the
network exactly as it would to a Collector, Jaeger or Tempo.

    python -m tests.support.otlp_collector PORT   # serves until killed (the benchmark's sink)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as service_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_span_id: str  # "" for a root span
    name: str
    kind: str  # "server", "client", ...
    attributes: dict[str, Any]
    status: str  # "unset", "ok", "error"
    status_message: str
    service_name: str


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    return getattr(value, which) if which else None


_KINDS = {
    Span.SPAN_KIND_SERVER: "server",
    Span.SPAN_KIND_CLIENT: "client",
    Span.SPAN_KIND_INTERNAL: "internal",
    Span.SPAN_KIND_PRODUCER: "producer",
    Span.SPAN_KIND_CONSUMER: "consumer",
}
_STATUSES = {
    Status.STATUS_CODE_UNSET: "unset",
    Status.STATUS_CODE_OK: "ok",
    Status.STATUS_CODE_ERROR: "error",
}


class _TraceService(service_grpc.TraceServiceServicer):
    def __init__(self, collector: OtlpCollector) -> None:
        self._collector = collector

    def Export(
        self,
        request: service_pb2.ExportTraceServiceRequest,
        context: grpc.ServicerContext,
    ) -> service_pb2.ExportTraceServiceResponse:
        if self._collector.refuse:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refused by the test")
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=_KINDS.get(span.kind, "unspecified"),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            status=_STATUSES[span.status.code],
                            status_message=span.status.message,
                            service_name=str(resource.get("service.name", "")),
                        )
                    )
        self._collector.add(received)
        return service_pb2.ExportTraceServiceResponse()


class OtlpCollector:
    """Serves OTLP/gRPC on 127.0.0.1 (a free port) in threads of its own, independent of
    the test's event loop. `endpoint` is what the exporter is given."""

    def __init__(self, port: int = 0, *, keep: bool = True, refuse: bool = False) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        service_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _TraceService(self), self._server
        )
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        self._keep = keep  # False: count only (a long benchmark)
        self.refuse = refuse  # True: every export is answered INVALID_ARGUMENT
        self.received = 0
        self._spans: list[ReceivedSpan] = []
        self._arrived = threading.Condition()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpCollector:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(0).wait()

    def add(self, spans: list[ReceivedSpan]) -> None:
        with self._arrived:
            self.received += len(spans)
            if self._keep:
                self._spans.extend(spans)
            self._arrived.notify_all()

    def spans(self) -> list[ReceivedSpan]:
        with self._arrived:
            return list(self._spans)

    def wait_for(
        self, done: Callable[[list[ReceivedSpan]], bool], timeout: float = 10.0
    ) -> list[ReceivedSpan]:
        """Every span received, once `done(spans)` holds (blocking: call it in a thread)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: done(self._spans), timeout):
                raise AssertionError(f"spans not received within {timeout}s: {self._spans}")
            return list(self._spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.spans() if s.trace_id == trace_id]

    def __iter__(self) -> Iterator[ReceivedSpan]:
        return iter(self.spans())


if __name__ == "__main__":
    collector = OtlpCollector(int(sys.argv[1]), keep=False).start()
    print(f"listening {collector.endpoint}", flush=True)
    collector._server.wait_for_termination()
