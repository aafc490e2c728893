"""`mcp-coordinator`: serve, stdio, demo, keys, and a gRPC client (route, aggregate, status...).

The client commands print the response as JSON (proto field names, every field)
and exit 1 with `error: CODE: message` on stderr when the call fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from mcpcoordinator.v1 import coordinator_pb2 as pb
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc

from coordinator import __version__
from coordinator.config import ConfigError, Settings, load_settings
from coordinator.errors import CoordinatorError

if TYPE_CHECKING:
    from coordinator.tracing import TracingConfig

DEFAULT_ADDRESS = "127.0.0.1:50051"


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency outside Windows
        return asyncio.run(coro)
    return uvloop.run(coro)


def _context_pair(text: str) -> tuple[str, Any]:
    """`key=value` (value parsed as JSON when it is JSON) or a bare `key` meaning true."""
    key, sep, raw = text.partition("=")
    if not key:
        raise argparse.ArgumentTypeError(f"--context {text!r}: expected key=value")
    if not sep:
        return key, True
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcp-coordinator", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the coordinator (gRPC and HTTP doors)")
    serve.add_argument("--config", help="YAML configuration file (default: $COORDINATOR_CONFIG)")

    stdio = commands.add_parser(
        "stdio", help="serve MCP on stdin/stdout (for hosts that launch a command)"
    )
    stdio.add_argument("--config", help="YAML configuration file (default: $COORDINATOR_CONFIG)")

    migrate = commands.add_parser(
        "migrate", help="create or update the usage_events table at DATABASE_URL"
    )
    migrate.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))

    keys = commands.add_parser("keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser(
        "create", help="print a new random key once, and the api_keys entry to paste"
    )
    create.add_argument("--id", required=True, help="the key's name in logs, metrics and usage")
    create.add_argument(
        "--scopes",
        default="route,aggregate,status",
        help="comma-separated: route, aggregate, status, mcp, dashboard, admin",
    )
    create.add_argument("--targets", default="", help="comma-separated targets (default: all)")

    demo = commands.add_parser("demo", help="start two sample MCP servers and a coordinator")
    demo.add_argument("--grpc-port", type=int, default=50051)
    demo.add_argument("--port", type=int, default=8766)
    demo.add_argument("--api-key", default="demo-key")

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--address",
            default=os.environ.get("COORDINATOR_ADDRESS", DEFAULT_ADDRESS),
            help=f"coordinator gRPC address (default: $COORDINATOR_ADDRESS or {DEFAULT_ADDRESS})",
        )
        sub.add_argument(
            "--api-key",
            default=os.environ.get("COORDINATOR_API_KEY"),
            help="API key (default: $COORDINATOR_API_KEY)",
        )
        sub.add_argument("--timeout", type=float, default=30.0, help="deadline in seconds")
        sub.add_argument(
            "--tls-ca",
            default=os.environ.get("COORDINATOR_TLS_CA"),
            metavar="FILE",
            help="connect with TLS, trusting this CA file (default: $COORDINATOR_TLS_CA)",
        )
        sub.add_argument(
            "--tls-cert",
            default=os.environ.get("COORDINATOR_TLS_CERT"),
            metavar="FILE",
            help="client certificate for mutual TLS (default: $COORDINATOR_TLS_CERT)",
        )
        sub.add_argument(
            "--tls-key",
            default=os.environ.get("COORDINATOR_TLS_KEY"),
            metavar="FILE",
            help="the client certificate's key (default: $COORDINATOR_TLS_KEY)",
        )
        return sub

    for name, help_text in (
        ("route", "send one request to the target the policy picks"),
        ("aggregate", "send one request to every target in parallel"),
    ):
        sub = client(name, help_text)
        sub.add_argument("query", nargs="?", default="", help="natural-language query")
        sub.add_argument(
            "--context",
            action="append",
            type=_context_pair,
            default=[],
            metavar="KEY=VALUE",
            help="routing context (repeatable)",
        )
        sub.add_argument("--tool", default="", help="call this MCP tool instead of the query tool")
        sub.add_argument("--arguments", type=_json_object, default=None, metavar="JSON")
        sub.add_argument("--method", default="", help="send this MCP method, e.g. tools/list")
        sub.add_argument("--params", type=_json_object, default=None, metavar="JSON")
        sub.add_argument("--no-cache", action="store_true")
        if name == "route":
            sub.add_argument("--target", default="", help="pin the request to this target")
            sub.add_argument("--allow-failover", action="store_true")
        else:
            sub.add_argument("--targets", default="", help="comma-separated subset of targets")
    client("status", "per-target health and counters")
    client("health", "liveness and the configured targets")
    return parser


def _operation_fields(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "query": args.query,
        "tool": args.tool,
        "method": args.method,
        "no_cache": args.no_cache,
    }
    if args.context:
        fields["context"] = dict(args.context)
    if args.arguments is not None:
        fields["arguments"] = args.arguments
    if args.params is not None:
        fields["params"] = args.params
    return fields


def route_request(args: argparse.Namespace) -> pb.RouteRequest:
    fields = _operation_fields(args)
    fields.update(target=args.target, allow_failover=args.allow_failover)
    return json_format.ParseDict(fields, pb.RouteRequest())


def aggregate_request(args: argparse.Namespace) -> pb.AggregateRequest:
    fields = _operation_fields(args)
    fields["targets"] = [t.strip() for t in args.targets.split(",") if t.strip()]
    return json_format.ParseDict(fields, pb.AggregateRequest())


def _channel(
    address: str, tls_ca: str | None, tls_cert: str | None, tls_key: str | None
) -> grpc.aio.Channel:
    if not (tls_ca or tls_cert):
        return grpc.aio.insecure_channel(address)

    def read(path: str | None) -> bytes | None:
        if not path:
            return None
        with open(path, "rb") as file:
            return file.read()

    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(tls_ca),
        private_key=read(tls_key),
        certificate_chain=read(tls_cert),
    )
    return grpc.aio.secure_channel(address, credentials)


async def _call(args: argparse.Namespace) -> Message:
    metadata = (("x-api-key", args.api_key),) if args.api_key else None
    async with _channel(args.address, args.tls_ca, args.tls_cert, args.tls_key) as channel:
        stub = pb_grpc.CoordinatorServiceStub(channel)
        if args.command == "route":
            return await stub.Route(route_request(args), metadata=metadata, timeout=args.timeout)
        if args.command == "aggregate":
            return await stub.Aggregate(
                aggregate_request(args), metadata=metadata, timeout=args.timeout
            )
        if args.command == "status":
            return await stub.Status(pb.StatusRequest(), metadata=metadata, timeout=args.timeout)
        return await stub.Health(pb.HealthRequest(), metadata=metadata, timeout=args.timeout)


def to_json(message: Message) -> str:
    return json_format.MessageToJson(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        indent=2,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args.config)
    if args.command == "stdio":
        return _stdio(args.config)
    if args.command == "migrate":
        return _migrate(args.database_url)
    if args.command == "keys":
        return _create_key(args.id, args.scopes, args.targets)
    if args.command == "demo":
        from coordinator.demo import run_demo
        from coordinator.logs import configure_logging

        # The demo shows every routing decision as it happens, one line each, on stderr.
        configure_logging("text", os.environ.get("LOG_LEVEL", "INFO"), secrets=(args.api_key,))
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)

        return int(_run(run_demo(grpc_port=args.grpc_port, port=args.port, api_key=args.api_key)))
    try:
        response = _run(_call(args))
    except grpc.aio.AioRpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    print(to_json(response))
    return 0


def _create_key(key_id: str, scopes_text: str, targets_text: str) -> int:
    from pydantic import ValidationError

    from coordinator.auth import hash_key, new_key
    from coordinator.config import TARGET_NAME, ApiKeyConfig

    key = new_key()
    hashed = hash_key(key)
    scopes = [s.strip() for s in scopes_text.split(",") if s.strip()]
    targets = [t.strip() for t in targets_text.split(",") if t.strip()]
    problems = [
        f"target {target!r} must match {TARGET_NAME.pattern}"
        for target in targets
        if not TARGET_NAME.match(target)
    ]
    try:
        ApiKeyConfig.model_validate({"id": key_id, "hash": hashed, "scopes": scopes})
    except ValidationError as error:
        problems += [str(e["msg"]).removeprefix("Value error, ") for e in error.errors()]
    if problems:
        print(f"mcp-coordinator keys create: {'; '.join(problems)}", file=sys.stderr)
        return 2
    # Id and targets quoted: YAML reads an unquoted 2024, true, null or no as a number,
    # a boolean or nothing. Both rules allow no character that needs escaping.
    entry = f'  - {{id: "{key_id}", hash: {hashed}, scopes: [{", ".join(scopes)}]'
    quoted = ", ".join(f'"{target}"' for target in targets)
    entry += f", targets: [{quoted}]}}" if targets else "}"
    print(f"API key (shown once, store it now): {key}")
    print("Add under api_keys: in the YAML configuration:")
    print(entry)
    return 0


def _migrate(database_url: str | None) -> int:
    from coordinator.usage import MigrationError, apply_migrations

    if not database_url:
        print("mcp-coordinator migrate: DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        applied = _run(apply_migrations(database_url))
    except (MigrationError, OSError) as error:
        print(f"mcp-coordinator migrate: {error}", file=sys.stderr)
        return 1
    print(f"applied {', '.join(applied)}" if applied else "usage_events is up to date")
    return 0


def _configured(
    config_path: str | None, *, log_level: str, stream: TextIO | None = None
) -> tuple[Settings, TracingConfig | None] | None:
    """Settings and tracing from the environment (and YAML), with logging set up; None, after
    saying why on stderr, when the configuration cannot be used."""
    from coordinator.logs import configure_logging
    from coordinator.tracing import TracingConfig

    try:
        settings = load_settings(config_path=config_path)
        tracing = TracingConfig.from_environment()  # OTEL_*: off unless an exporter is set
    except ConfigError as error:
        print(f"mcp-coordinator: invalid configuration: {error}", file=sys.stderr)
        return None
    configure_logging(
        "json" if os.environ.get("LOG_FORMAT", "text") == "json" else "text",
        os.environ.get("LOG_LEVEL", log_level),
        secrets=(settings.api_key, settings.supabase_service_role_key, settings.database_url),
        stream=stream,
    )
    return settings, tracing


def _stdio(config_path: str | None) -> int:
    from coordinator.mcpdoor.stdio import serve_stdio

    # Logs on stderr only: stdout carries the protocol. INFO, as for `serve`: a line per
    # routing decision.
    configured = _configured(config_path, log_level="INFO", stream=sys.stderr)
    if configured is None:
        return 2
    try:
        _run(serve_stdio(*configured))
    except CoordinatorError as error:  # e.g. COORDINATOR_CONTEXT with too many keys
        print(f"mcp-coordinator: {error.message}", file=sys.stderr)
        return 2
    return 0


def _serve(config_path: str | None) -> int:
    from coordinator.app import serve

    configured = _configured(config_path, log_level="INFO")
    if configured is None:
        return 2
    # uvicorn's own start-up lines would repeat (and contradict) the coordinator's.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    _run(serve(*configured))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
