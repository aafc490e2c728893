"""Configuration: environment variables plus an optional YAML file, validated once.

`load_settings()` is called at start-up and returns a frozen `Settings`; nothing
else reads the environment. Environment variables override the file. Any
`<NAME>_MCP_URL` variable defines target `<name>`; `<NAME>_MCP_QUERY_TOOL`,
`<NAME>_MCP_TIMEOUT` and `<NAME>_MCP_PROTOCOL` refine it.

An invalid configuration raises `ConfigError` whose message names the key and
the problem, e.g. ``CACHE_TTL: must be a number of seconds >= 0, got 'soon'``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from coordinator.breaker import BreakerPolicy
from coordinator.retry import RetryPolicy

Transport = Literal["http", "stdio"]
ProtocolChoice = Literal["auto", "2026-07-28", "2025-11-25"]
Environment = Literal["development", "test", "staging", "production"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
Scope = Literal["route", "aggregate", "status", "mcp", "dashboard", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
# A production COORDINATOR_API_KEY shorter than this is refused (`keys create` makes 43).
MIN_PRODUCTION_KEY_CHARS = 32

TARGET_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KEY_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*$")
_RATE_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
_RATE_UNITS |= {"h": 3600.0, "hour": 3600.0}
_TARGET_ENV = re.compile(r"^([A-Z][A-Z0-9_]*)_MCP_(URL|QUERY_TOOL|TIMEOUT|PROTOCOL|GROUP)$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TargetConfig(_Frozen):
    """One downstream MCP server."""

    name: str
    transport: Transport = "http"
    # http: the Streamable HTTP endpoint, e.g. http://odoo-prod:8000/mcp
    url: str | None = None
    # stdio: the command the coordinator starts and supervises.
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    # Tool called for a natural-language `query`.
    query_tool: str = "query"
    # Upper bound of one attempt, in seconds; None: the coordinator's PER_TRY_TIMEOUT.
    timeout: float | None = Field(default=None, gt=0)
    # Calls to this target allowed at once; more are turned away, not queued.
    max_in_flight: int = Field(default=64, ge=1)
    headers: Mapping[str, str] = Field(default_factory=dict)
    protocol: ProtocolChoice = "auto"
    # False: never called, probed or warmed up; an explicit request for it is refused.
    enabled: bool = True
    # Targets in one group serve the same data (replicas): a call that may change
    # data fails over only inside its group. None: a group of its own (its name).
    group: str | None = None
    # How long a fetched tool list is trusted before it is fetched again.
    tools_ttl: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _check_transport(self) -> TargetConfig:
        if not TARGET_NAME.match(self.name):
            raise ValueError(f"name {self.name!r} must match {TARGET_NAME.pattern}")
        if self.transport == "http" and not self.url:
            raise ValueError("url is required for transport http")
        if (
            self.transport == "http"
            and self.url
            and not self.url.startswith(("http://", "https://"))
        ):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        if self.transport == "stdio" and not self.command:
            raise ValueError("command is required for transport stdio")
        if self.group is not None and not TARGET_NAME.match(self.group):
            raise ValueError(f"group {self.group!r} must match {TARGET_NAME.pattern}")
        return self

    @property
    def data_group(self) -> str:
        """The group whose targets hold the same data as this one."""
        return self.group or self.name


class ContextRule(_Frozen):
    """Requests whose `context` has `key` set to a truthy value go to `target`."""

    key: str
    target: str
    reason: str
    confidence: float = Field(default=0.9, ge=0, le=1)
    # False: never answer from another target (production data stays production).
    fallback: bool = True


class QueryRule(_Frozen):
    """Requests whose `query` matches `pattern` (a regular expression) go to `target`."""

    name: str
    pattern: str
    target: str
    reason: str
    confidence: float = Field(default=0.7, ge=0, le=1)
    fallback: bool = True

    @model_validator(mode="after")
    def _check_pattern(self) -> QueryRule:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(
                f"pattern {self.pattern!r} is not a regular expression: {exc}"
            ) from exc
        return self


class RetrySettings(_Frozen):
    """How the coordinator moves on to the next target (coordinator.retry.RetryPolicy)."""

    # First backoff before moving on; doubles per further attempt, full jitter.
    initial_backoff: float = Field(default=0.005, ge=0)
    max_backoff: float = Field(default=0.1, ge=0)
    # Concurrent retries allowed: this share of the requests in flight, at least the minimum.
    budget_ratio: float = Field(default=0.2, ge=0, le=1)
    min_concurrent_retries: int = Field(default=3, ge=0)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(**self.model_dump())


class BreakerSettings(_Frozen):
    """Each target's circuit breaker (coordinator.breaker.BreakerPolicy)."""

    failure_threshold: int = Field(default=5, ge=1)
    open_seconds: float = Field(default=30.0, gt=0)
    max_open_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _check_order(self) -> BreakerSettings:
        if self.max_open_seconds < self.open_seconds:
            raise ValueError(
                f"max_open_seconds ({self.max_open_seconds:g}) must be at least"
                f" open_seconds ({self.open_seconds:g})"
            )
        return self

    def policy(self) -> BreakerPolicy:
        return BreakerPolicy(**self.model_dump())


def parse_rate(value: object) -> float:
    """`50/s`, `3000/m`, `100/h` or a bare number (per second) as requests per second."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = float(value)
    else:
        found = _RATE.match(str(value))
        if found is None:
            raise ValueError(f"rate must look like 50/s, 3000/m or 100/h, got {value!r}")
        rate = float(found.group(1)) / _RATE_UNITS[found.group(2) or "s"]
    if not rate > 0:
        raise ValueError(f"rate must be above zero, got {value!r}")
    return rate


class RateLimitConfig(_Frozen):
    """GCRA: `rate` requests per second on average, up to `burst` at once."""

    rate: float
    burst: int = Field(default=0, ge=0)

    @field_validator("rate", mode="before")
    @classmethod
    def _parse_rate(cls, value: object) -> float:
        return parse_rate(value)

    @model_validator(mode="after")
    def _default_burst(self) -> RateLimitConfig:
        if self.burst == 0:  # a second's worth, at least one request
            object.__setattr__(self, "burst", max(1, round(self.rate)))
        return self


class ApiKeyConfig(_Frozen):
    """One API key: its id (what logs, metrics and usage rows show), the SHA-256 of the key
    (never the key itself), its scopes, and optionally the targets it may reach and its
    rate limits (per key, and per key and target)."""

    id: str
    hash: str = Field(repr=False)
    scopes: tuple[Scope, ...] = ("route", "aggregate", "status")
    # None: every target.
    targets: tuple[str, ...] | None = None
    rate: float | None = None
    burst: int = Field(default=0, ge=0)
    target_rates: Mapping[str, RateLimitConfig] = Field(default_factory=dict)

    @field_validator("rate", mode="before")
    @classmethod
    def _parse_rate(cls, value: object) -> float | None:
        return None if value is None else parse_rate(value)

    @model_validator(mode="after")
    def _check(self) -> ApiKeyConfig:
        if not KEY_ID.match(self.id):
            raise ValueError(f"id {self.id!r} must match {KEY_ID.pattern}")
        if not KEY_HASH.match(self.hash):
            raise ValueError(
                "hash must be 'sha256:' and 64 lower-case hex digits"
                " (`mcp-coordinator keys create` prints it)"
            )
        return self

    @property
    def rate_limit(self) -> RateLimitConfig | None:
        if self.rate is None:
            return None
        return RateLimitConfig(rate=self.rate, burst=self.burst)


DEFAULT_CONTEXT_RULES: tuple[ContextRule, ...] = (
    ContextRule(
        key="finance-ssc",
        target="odoo_prod",
        reason="Finance SSC context requires production data",
        confidence=0.95,
        fallback=False,
    ),
    ContextRule(
        key="migration",
        target="odoo_lab",
        reason="Migration work uses the testing environment",
        confidence=0.9,
    ),
    ContextRule(
        key="oca",
        target="odoo_lab",
        reason="OCA module work uses the testing environment",
        confidence=0.9,
    ),
    ContextRule(
        key="development",
        target="odoo_lab",
        reason="Development uses the testing environment",
        confidence=0.9,
    ),
)


class Settings(_Frozen):
    """Everything the coordinator needs to start, validated."""

    environment: Environment = "development"
    api_key: str | None = Field(default=None, repr=False)
    # Keys from the YAML file (hashes only); COORDINATOR_API_KEY is one more, id "default".
    api_keys: tuple[ApiKeyConfig, ...] = ()
    # Serve without any key on a non-loopback address (logged as a WARNING at start).
    allow_unauthenticated: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8766, ge=0, le=65535)
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    targets: tuple[TargetConfig, ...] = ()
    default_target: str | None = None
    failover_order: tuple[str, ...] = ()
    context_rules: tuple[ContextRule, ...] = DEFAULT_CONTEXT_RULES
    query_rules: tuple[QueryRule, ...] = ()
    enable_aggregation: bool = True
    cache_ttl: float = Field(default=300.0, ge=0)
    redis_url: str | None = None
    database_url: str | None = Field(default=None, repr=False)
    supabase_url: str | None = None
    supabase_service_role_key: str | None = Field(default=None, repr=False)
    # Default deadline of a request that brings none, in seconds.
    request_timeout: float = Field(default=10.0, gt=0)
    # Upper bound of one attempt on one target, unless the target sets its own.
    per_try_timeout: float = Field(default=2.0, gt=0)
    # Requests admitted at once across all doors; more get RESOURCE_EXHAUSTED.
    max_in_flight: int = Field(default=1024, ge=1)
    # Active health probes (MCP ping) per target.
    probe_interval: float = Field(default=5.0, gt=0)
    probe_timeout: float = Field(default=1.0, gt=0)
    # How long in-flight calls may run after SIGTERM.
    drain_seconds: float = Field(default=10.0, ge=0)
    retry: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()
    # Largest answer (JSON text) a target may give and the coordinator deliver.
    max_answer_bytes: int = Field(default=32 << 20, ge=1024)

    # Rate limit of every key that sets none of its own (None: unlimited).
    rate_limit: RateLimitConfig | None = None
    # Replicas sharing one limit: each takes rate/replicas while Redis is down.
    rate_limit_replicas: int = Field(default=1, ge=1)
    # TLS on both doors; with a client CA the gRPC door requires client certificates.
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    # Input limits, the same on every door.
    max_request_bytes: int = Field(default=1 << 20, ge=1024)
    # At most 32: protobuf's decoder stops at 100 message levels, about 34 JSON levels.
    max_json_depth: int = Field(default=32, ge=1, le=32)
    max_string_length: int = Field(default=1 << 16, ge=1)
    max_key_length: int = Field(default=256, ge=1)
    # Slow clients: seconds to send the request head / the body; open HTTP connections.
    header_timeout: float = Field(default=10.0, gt=0)
    body_timeout: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=1024, ge=1)
    # Origins allowed to call the HTTP door from a browser; empty: CORS off.
    cors_origins: tuple[str, ...] = ()

    @field_validator("environment", mode="before")
    @classmethod
    def _known_environment(cls, value: object) -> object:
        text = str(value).strip().lower()
        if text not in ENVIRONMENTS:
            raise ValueError(f"must be one of {', '.join(ENVIRONMENTS)} (any case)")
        return text

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _rate_from_text(cls, value: object) -> object:
        if isinstance(value, str | int | float):
            return {"rate": value}
        return value

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        names = [t.name for t in self.targets]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"targets: duplicate target names {duplicates}")
        known = set(names)
        if self.default_target is not None and self.default_target not in known:
            raise ValueError(
                f"DEFAULT_TARGET: {self.default_target!r} is not a configured target"
                f" {sorted(known)}"
            )
        for name in self.failover_order:
            if name not in known:
                raise ValueError(
                    f"failover_order: {name!r} is not a configured target {sorted(known)}"
                )
        self._check_keys(known)
        self._check_tls()
        return self

    def _check_keys(self, known: set[str]) -> None:
        ids = [k.id for k in self.api_keys]
        if self.api_key:
            ids.append("default")
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"api_keys: duplicate key ids {duplicates} ('default' is reserved)")
        for key in self.api_keys:
            for name in (*(key.targets or ()), *key.target_rates):
                if name not in known:
                    raise ValueError(
                        f"api_keys.{key.id}: {name!r} is not a configured target {sorted(known)}"
                    )
        if self.environment == "production":
            if not self.auth_enabled:
                raise ValueError(
                    "COORDINATOR_API_KEY: required when ENVIRONMENT=production"
                    " (refusing to start without auth)"
                )
            if self.api_key and len(self.api_key) < MIN_PRODUCTION_KEY_CHARS:
                raise ValueError(
                    f"COORDINATOR_API_KEY: must be at least {MIN_PRODUCTION_KEY_CHARS} characters"
                    " when ENVIRONMENT=production (`mcp-coordinator keys create` makes one)"
                )
        if not self.auth_enabled and not self.allow_unauthenticated and not is_loopback(self.host):
            raise ValueError(
                f"HOST: refusing to serve {self.host!r} without an API key; set"
                " COORDINATOR_API_KEY or api_keys, listen on 127.0.0.1, or set"
                " ALLOW_UNAUTHENTICATED=true"
            )

    def _check_tls(self) -> None:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("TLS_CERT_FILE and TLS_KEY_FILE: set both or neither")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ValueError("TLS_CLIENT_CA_FILE: needs TLS_CERT_FILE and TLS_KEY_FILE")
        for key, path in (
            ("TLS_CERT_FILE", self.tls_cert_file),
            ("TLS_KEY_FILE", self.tls_key_file),
            ("TLS_CLIENT_CA_FILE", self.tls_client_ca_file),
        ):
            if path and not Path(path).is_file():
                raise ValueError(f"{key}: no such file {path!r}")

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_key) or bool(self.api_keys)

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets)

    @property
    def enabled_target_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets if t.enabled)

    @property
    def groups(self) -> dict[str, str]:
        """Target name -> the group of targets that hold the same data."""
        return {t.name: t.data_group for t in self.targets}

    def target(self, name: str) -> TargetConfig:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)


_SCALARS: dict[str, str] = {
    "ENVIRONMENT": "environment",
    "COORDINATOR_API_KEY": "api_key",
    "HOST": "host",
    "PORT": "port",
    "GRPC_PORT": "grpc_port",
    "DEFAULT_TARGET": "default_target",
    "ENABLE_AGGREGATION": "enable_aggregation",
    "CACHE_TTL": "cache_ttl",
    "REDIS_URL": "redis_url",
    "DATABASE_URL": "database_url",
    "SUPABASE_URL": "supabase_url",
    "SUPABASE_SERVICE_ROLE_KEY": "supabase_service_role_key",
    "REQUEST_TIMEOUT": "request_timeout",
    "PER_TRY_TIMEOUT": "per_try_timeout",
    "MAX_IN_FLIGHT": "max_in_flight",
    "PROBE_INTERVAL": "probe_interval",
    "PROBE_TIMEOUT": "probe_timeout",
    "DRAIN_SECONDS": "drain_seconds",
    "MAX_ANSWER_BYTES": "max_answer_bytes",
    "ALLOW_UNAUTHENTICATED": "allow_unauthenticated",
    "RATE_LIMIT": "rate_limit",
    "RATE_LIMIT_REPLICAS": "rate_limit_replicas",
    "TLS_CERT_FILE": "tls_cert_file",
    "TLS_KEY_FILE": "tls_key_file",
    "TLS_CLIENT_CA_FILE": "tls_client_ca_file",
    "MAX_REQUEST_BYTES": "max_request_bytes",
    "MAX_JSON_DEPTH": "max_json_depth",
    "MAX_STRING_LENGTH": "max_string_length",
    "MAX_KEY_LENGTH": "max_key_length",
    "HEADER_TIMEOUT": "header_timeout",
    "BODY_TIMEOUT": "body_timeout",
    "MAX_CONNECTIONS": "max_connections",
    "CORS_ORIGINS": "cors_origins",
}
_ENV_OF_FIELD = {v: k for k, v in _SCALARS.items()}
_TARGET_FIELD = {
    "URL": "url",
    "QUERY_TOOL": "query_tool",
    "TIMEOUT": "timeout",
    "PROTOCOL": "protocol",
    "GROUP": "group",
}


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_settings(
    env: Mapping[str, str] | None = None, config_path: str | Path | None = None
) -> Settings:
    """Builds `Settings` from the YAML file (if any) overlaid by the environment.

    `config_path` defaults to `COORDINATOR_CONFIG` from `env`.
    """
    env = dict(os.environ) if env is None else dict(env)
    path = config_path or env.get("COORDINATOR_CONFIG") or None
    raw: dict[str, Any] = _read_yaml(Path(path)) if path else {}

    targets: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(raw.pop("targets", None) or []):
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"targets[{index}]: must be a mapping with a 'name'")
        targets[str(item["name"])] = dict(item)

    for key, value in env.items():
        if key in _SCALARS and value != "":
            raw[_SCALARS[key]] = value
            continue
        match = _TARGET_ENV.match(key)
        if match and value != "":
            name = match.group(1).lower()
            target = targets.setdefault(name, {"name": name})
            target[_TARGET_FIELD[match.group(2)]] = value
            if match.group(2) == "URL":
                target.setdefault("transport", "http")

    raw["targets"] = list(targets.values())
    if "default_target" not in raw and "odoo_prod" in targets:
        raw["default_target"] = "odoo_prod"
    if "failover_order" not in raw:
        raw["failover_order"] = list(targets)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, raw)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(
            f"COORDINATOR_CONFIG: cannot read {str(path)!r}: {exc.strerror}"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"COORDINATOR_CONFIG: {str(path)!r} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"COORDINATOR_CONFIG: {str(path)!r} must hold a mapping at the top level")
    return loaded


def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """One line per problem, each naming the key as the user wrote it."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc and loc[0] == "targets" and len(loc) > 1 and isinstance(loc[1], int):
            name = raw["targets"][loc[1]].get("name", loc[1])
            key = f"targets.{name}" + "".join(f".{part}" for part in loc[2:])
        elif loc and loc[0] == "api_keys" and len(loc) > 1 and isinstance(loc[1], int):
            entry = (raw.get("api_keys") or [])[loc[1]]
            name = entry.get("id", loc[1]) if isinstance(entry, dict) else loc[1]
            key = f"api_keys.{name}" + "".join(f".{part}" for part in loc[2:])
        elif loc:
            key = _ENV_OF_FIELD.get(str(loc[0]), str(loc[0])) + "".join(f".{p}" for p in loc[1:])
        else:
            lines.append(message)
            continue
        given = error.get("input")
        shown = "" if isinstance(given, dict | list) or given is None else f", got {given!r}"
        if str(loc[0]) in ("api_key", "api_keys", "supabase_service_role_key", "database_url"):
            shown = ""  # never echo secrets
        lines.append(f"{key}: {message}{shown}")
    return "; ".join(lines)
