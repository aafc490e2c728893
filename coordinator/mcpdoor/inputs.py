"""What an MCP host tells the routing policy, and where the decision goes back.

Per connection: headers `X-Coordinator-Context` (comma-separated keys set to
true) and `X-Coordinator-Target`, or query parameters `context` and `target`
for hosts that cannot set headers; over stdio, the environment variables
`COORDINATOR_CONTEXT` and `COORDINATOR_TARGET`.
Per call, in the request's `_meta`: `mcp-coordinator/context` (an object, like
REST `context`) and `mcp-coordinator/target` (a target name); they win over
the connection's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coordinator.errors import invalid_argument
from coordinator.service import RequestTrace, RouteResult

CONTEXT_META = "mcp-coordinator/context"
TARGET_META = "mcp-coordinator/target"
ROUTING_META = "mcp-coordinator/routing"

CONTEXT_HEADER = "x-coordinator-context"
TARGET_HEADER = "x-coordinator-target"
CONTEXT_ENV = "COORDINATOR_CONTEXT"
TARGET_ENV = "COORDINATOR_TARGET"
MAX_CONTEXT_KEYS = 64


@dataclass(frozen=True, slots=True)
class RoutingInputs:
    context: Mapping[str, Any] | None = None
    target: str = ""


def context_keys(value: str, *, field: str) -> dict[str, Any] | None:
    """`finance-ssc, migration` -> {"finance-ssc": True, "migration": True}."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if len(keys) > MAX_CONTEXT_KEYS:
        raise invalid_argument(field, f"at most {MAX_CONTEXT_KEYS} context keys")
    return dict.fromkeys(keys, True) or None


def connection_inputs(headers: Mapping[str, str], query: Mapping[str, str]) -> RoutingInputs:
    """The routing inputs an HTTP request carries in its headers or URL."""
    context = headers.get(CONTEXT_HEADER)
    field = "X-Coordinator-Context"
    if context is None:
        context, field = query.get("context"), "context"
    target = headers.get(TARGET_HEADER) or query.get("target") or ""
    return RoutingInputs(
        context_keys(context, field=field) if context else None,
        target.strip(),
    )


def environment_inputs(environ: Mapping[str, str]) -> RoutingInputs:
    """The routing inputs of a stdio connection, from the process environment."""
    context = environ.get(CONTEXT_ENV, "")
    return RoutingInputs(
        context_keys(context, field=CONTEXT_ENV) if context else None,
        environ.get(TARGET_ENV, "").strip(),
    )


def call_inputs(connection: RoutingInputs, params: Mapping[str, Any] | None) -> RoutingInputs:
    """The connection's inputs overridden by the request's `_meta`; INVALID_ARGUMENT
    naming the key when one has the wrong type."""
    meta = params.get("_meta") if params else None
    if not isinstance(meta, Mapping):
        return connection
    context = meta.get(CONTEXT_META)
    target = meta.get(TARGET_META)
    if context is not None and not isinstance(context, Mapping):
        raise invalid_argument(f"_meta.{CONTEXT_META}", "must be an object")
    if target is not None and not isinstance(target, str):
        raise invalid_argument(f"_meta.{TARGET_META}", "must be a target name (a string)")
    merged = connection.context
    if context:
        merged = {**(connection.context or {}), **context}
    return RoutingInputs(merged, target or connection.target)


def routing_meta(result: RouteResult | RequestTrace) -> dict[str, Any]:
    """The decision (or, for a failed call, what is known of it), with the field
    names and spelling of REST `routing`."""
    return {
        "target": result.target,
        "reason": result.reason,
        "confidence": result.confidence,
        "rule": result.rule,
        "failover": result.failover,
        "cached": result.cached,
        "stale": result.stale,
        "attempts": [
            {
                "target": a.target,
                "outcome": a.outcome,
                "latency_ms": a.latency_ms,
                "error": a.error,
            }
            for a in result.attempts
        ],
    }
