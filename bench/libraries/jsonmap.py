"""The REST door's proto3 JSON mapping (`coordinator/gateway/jsonmap.py`) vs json_format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message
from mcpcoordinator.v1 import coordinator_pb2 as pb

from bench.libraries.timing import Timed, compare, cycle, facts, table
from coordinator.errors import CoordinatorError
from coordinator.gateway.jsonmap import CodecRegistry, MessageCodec, dump_json, parse_json

_MESSAGES = pb.DESCRIPTOR.message_types_by_name
_JF_OUT: dict[str, Any] = {
    "preserving_proto_field_name": True,
    "always_print_fields_with_no_presence": True,
}


def _answer(n: int, tools: int) -> dict[str, Any]:
    if tools == 0:
        return {
            "content": [
                {
                    "type": "text",
                    "text": f"Skills {n}: " + ", ".join(f"skill {k}" for k in range(25)),
                }
            ],
            "isError": False,
            "structuredContent": {"count": 25, "page": n},
        }
    return {
        "tools": [
            {
                "name": f"tool_{n}_{k}",
                "description": "Reads records of a model with a domain filter. " * 3,
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string"},
                        "limit": {"type": "integer", "minimum": 1},
                        "fields": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["model"],
                },
                "annotations": {"readOnlyHint": True},
            }
            for k in range(tools)
        ]
    }


def _route_response(data: dict[str, Any]) -> pb.RouteResponse:
    response = pb.RouteResponse()
    response.data.struct_value.update(data)
    routing = response.routing
    routing.target, routing.reason, routing.confidence = "odoo_lab", "Migration work", 0.9
    routing.rule, routing.failover = "context:migration", True
    routing.attempts.add(target="odoo_prod", outcome="unavailable", latency_ms=2.5, error="x")
    routing.attempts.add(target="odoo_lab", outcome="ok", latency_ms=9.8)
    return response


def _status_response() -> pb.StatusResponse:
    status = pb.StatusResponse(version="0.1.0", uptime_seconds=3600.5)
    for name in ("odoo_prod", "odoo_lab", "github"):
        target = status.targets[name]
        target.transport, target.healthy, target.circuit = "http", True, "closed"
        target.requests, target.errors, target.latency_p50_ms = 120_000, 12, 3.2
    status.cache.backend, status.cache.hits = "redis", 10_000
    status.usage.sink, status.usage.written = "postgres", 120_000
    status.requests["rest"], status.requests["grpc"] = 100_000, 20_000
    return status


ROUTE_REQUEST = orjson.dumps(
    {
        "tool": "search_read",
        "arguments": {"model": "res.partner", "domain": [["is_company", "=", True]], "limit": 80},
        "context": {"migration": True},
        "allow_failover": True,
    }
)


def run(batches: int) -> list[str]:
    registry = CodecRegistry()
    request_codec = registry.codec(_MESSAGES["RouteRequest"])
    route_codec = registry.codec(_MESSAGES["RouteResponse"])
    status_codec = registry.codec(_MESSAGES["StatusResponse"])

    def ours_parse() -> Message:
        message = pb.RouteRequest()
        request_codec.decode_into(parse_json(ROUTE_REQUEST, "body"), message, "")
        return message

    def library_parse() -> Message:
        return json_format.Parse(ROUTE_REQUEST, pb.RouteRequest())

    lines = ["## jsonmap: `gateway/jsonmap.py` vs `google.protobuf.json_format`", ""]
    lines += table(
        "RouteRequest: JSON body -> message (0.2 KB)",
        compare({"jsonmap": ours_parse, "json_format.Parse": library_parse}, batches, 200),
        "jsonmap",
    )
    # The same answer again and again (a cache hit: jsonmap's EncodedDocuments memo
    # applies), then answers seen once each (more distinct documents than the memo keeps).
    for label, tools, distinct in (
        ("typical answer, repeated", 0, 1),
        ("typical answer, each one new", 0, 12_000),
        ("large answer (a 30-tool list), repeated", 30, 1),
        ("large answer (a 30-tool list), each one new", 30, 200),
    ):
        responses = [_route_response(_answer(n, tools)) for n in range(distinct)]
        size = len(dump_json(route_codec.encode(responses[0])))
        lines += table(
            f"RouteResponse -> JSON bytes, {label}; {size:,} bytes",
            compare(
                {
                    "jsonmap": _encode_with_jsonmap(route_codec, cycle(responses)),
                    "json_format.MessageToDict + orjson": _encode_to_dict(cycle(responses)),
                    "json_format.MessageToJson": _encode_to_json(cycle(responses)),
                },
                batches,
                20 if tools else 200,
            ),
            "jsonmap",
        )
    status = _status_response()
    lines += table(
        "StatusResponse -> JSON bytes (3 targets)",
        compare(
            {
                "jsonmap": lambda: dump_json(status_codec.encode(status)),
                "json_format.MessageToDict + orjson": lambda: orjson.dumps(
                    json_format.MessageToDict(status, **_JF_OUT)
                ),
            },
            batches,
            200,
        ),
        "jsonmap",
    )
    lines += facts(_jsonmap_facts(registry))
    return lines


def _encode_with_jsonmap(codec: MessageCodec, messages: Iterator[Message]) -> Timed:
    return lambda: dump_json(codec.encode(next(messages)))


def _encode_to_dict(messages: Iterator[Message]) -> Timed:
    return lambda: orjson.dumps(json_format.MessageToDict(next(messages), **_JF_OUT))


def _encode_to_json(messages: Iterator[Message]) -> Timed:
    return lambda: json_format.MessageToJson(next(messages), indent=None, **_JF_OUT)


def _jsonmap_facts(registry: CodecRegistry) -> list[tuple[str, str]]:
    route_codec = registry.codec(_MESSAGES["RouteResponse"])
    counted = _route_response({"count": 3, "items": [1, 2]})
    ours = dump_json(route_codec.encode(counted)).decode()
    theirs = json_format.MessageToJson(counted, indent=None, **_JF_OUT)
    empty = pb.RouteResponse()
    rows = [
        (
            'integers inside Struct (`{"count": 3, "items": [1, 2]}`)',
            f"jsonmap: `{_data_of(ours)}`; json_format: `{_data_of(theirs)}`",
        ),
        (
            "unset message fields (an empty RouteResponse)",
            f"jsonmap: `{dump_json(route_codec.encode(empty)).decode()}`; json_format: "
            f"`{json_format.MessageToJson(empty, indent=None, **_JF_OUT)}` (message fields "
            "have presence: `always_print_fields_with_no_presence` leaves them out)",
        ),
    ]
    bad_bodies: list[tuple[type[Message], bytes]] = [
        (pb.RouteRequest, b'{"allow_failover": "yes"}'),
        (pb.RouteRequest, b'{"tool": 5}'),
        (pb.RouteRequest, b'{"nope": 1}'),
        (pb.RouteRequest, b'{"context": [1]}'),
        (pb.AggregateRequest, b'{"targets": ["odoo_prod", 5]}'),
        (pb.UsageRequest, b'{"window_seconds": 4294967296}'),
        (pb.UsageRequest, b'{"window_seconds": 1.5}'),
    ]
    for message_type, body in bad_bodies:
        try:
            registry.codec(_MESSAGES[message_type.__name__]).decode_into(
                parse_json(body, "body"), message_type(), ""
            )
            ours_error = "accepted"
        except CoordinatorError as exc:
            ours_error = str(exc)
        try:
            json_format.Parse(body, message_type())
            library_error = "accepted"
        except json_format.ParseError as exc:
            library_error = str(exc).replace("\n", " ")
        rows.append(
            (
                f"{message_type.__name__} `{body.decode()}`",
                f"jsonmap: {ours_error}<br>json_format: {library_error}",
            )
        )
    return rows


def _data_of(line: str) -> str:
    return json.dumps(json.loads(line)["data"])
