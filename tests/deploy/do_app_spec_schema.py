"""The part of DigitalOcean's App Platform app spec that
infra/do/mcp-coordinator.yaml uses, as JSON Schema: field names, types, enums
and bounds as the App Platform app spec reference gives them. Every object is
closed (`additionalProperties: false`), so a misspelt or misplaced field fails
instead of being ignored by the check (App Platform itself rejects it)."""

from __future__ import annotations

from typing import Any

# Component and app names: lower case, digits and dashes, 2 to 32 characters.
NAME = {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,30}[a-z0-9]$"}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}


def closed(required: list[str], **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


ENV = closed(
    ["key"],
    key={"type": "string", "pattern": "^[_A-Za-z][_A-Za-z0-9]*$"},
    value={"type": "string"},
    scope={"enum": ["UNSET", "RUN_TIME", "BUILD_TIME", "RUN_AND_BUILD_TIME"]},
    type={"enum": ["GENERAL", "SECRET"]},
)

IMAGE = closed(
    ["registry_type", "repository"],
    registry_type={"enum": ["DOCKER_HUB", "DOCR", "GHCR"]},
    registry={"type": "string"},
    repository={"type": "string", "minLength": 1},
    tag={"type": "string", "minLength": 1},
    digest={"type": "string"},
    deploy_on_push=closed([], enabled={"type": "boolean"}),
)

HEALTH_CHECK = closed(
    [],
    http_path={"type": "string", "pattern": "^/"},
    port=PORT,
    initial_delay_seconds={"type": "integer", "minimum": 0, "maximum": 3600},
    period_seconds={"type": "integer", "minimum": 1, "maximum": 300},
    timeout_seconds={"type": "integer", "minimum": 1, "maximum": 120},
    success_threshold={"type": "integer", "minimum": 1, "maximum": 1},
    failure_threshold={"type": "integer", "minimum": 1, "maximum": 50},
)

TERMINATION = closed(
    [],
    drain_seconds={"type": "integer", "minimum": 1, "maximum": 110},
    grace_period_seconds={"type": "integer", "minimum": 1, "maximum": 600},
)

SERVICE = closed(
    ["name"],
    name=NAME,
    image=IMAGE,
    instance_count={"type": "integer", "minimum": 1},
    instance_size_slug={"type": "string"},
    http_port=PORT,
    internal_ports={"type": "array", "items": PORT, "uniqueItems": True},
    protocol={"enum": ["HTTP", "HTTP2"]},
    health_check=HEALTH_CHECK,
    termination=TERMINATION,
    envs={"type": "array", "items": ENV},
    routes={
        "type": "array",
        "items": closed(
            ["path"], path={"type": "string"}, preserve_path_prefix={"type": "boolean"}
        ),
    },
)

DATABASE = closed(
    ["name"],
    name=NAME,
    engine={"enum": ["UNSET", "MYSQL", "PG", "REDIS", "MONGODB", "KAFKA", "OPENSEARCH", "VALKEY"]},
    version={"type": "string"},
    production={"type": "boolean"},
    cluster_name={"type": "string"},
    db_name={"type": "string"},
    db_user={"type": "string"},
)

DOMAIN = closed(
    ["domain"],
    domain={"type": "string", "minLength": 4, "maxLength": 253},
    type={"enum": ["UNSPECIFIED", "DEFAULT", "PRIMARY", "ALIAS"]},
    wildcard={"type": "boolean"},
    zone={"type": "string"},
    minimum_tls_version={"enum": ["1.2", "1.3"]},
)

INGRESS_RULE = closed(
    ["match"],
    match=closed(["path"], path=closed(["prefix"], prefix={"type": "string"})),
    component=closed(
        ["name"],
        name=NAME,
        preserve_path_prefix={"type": "boolean"},
        rewrite={"type": "string"},
    ),
)

ALERT = closed(
    ["rule"],
    rule={
        "enum": [
            "UNSPECIFIED_RULE",
            "CPU_UTILIZATION",
            "MEM_UTILIZATION",
            "RESTART_COUNT",
            "DEPLOYMENT_FAILED",
            "DEPLOYMENT_LIVE",
            "DOMAIN_FAILED",
            "DOMAIN_LIVE",
            "FUNCTIONS_ACTIVATION_COUNT",
            "FUNCTIONS_AVERAGE_DURATION_MS",
            "FUNCTIONS_ERROR_RATE_PER_MINUTE",
            "FUNCTIONS_AVERAGE_WAIT_TIME_MS",
            "FUNCTIONS_ERROR_COUNT",
            "FUNCTIONS_GB_RATE_PER_SECOND",
        ]
    },
    disabled={"type": "boolean"},
)

APP_SPEC: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **closed(
        ["name"],
        name=NAME,
        region={"type": "string"},
        alerts={"type": "array", "items": ALERT},
        domains={"type": "array", "items": DOMAIN},
        ingress=closed([], rules={"type": "array", "items": INGRESS_RULE}),
        services={"type": "array", "items": SERVICE},
        databases={"type": "array", "items": DATABASE},
    ),
}
