"""API keys, scopes and target allowances: who is calling and what they may do.

Every door asks the same two questions, through the same two calls:

    principal = keyring.authenticate(ctx.metadata)   # 401 UNAUTHENTICATED
    principal.require("route", target="odoo_prod")    # 403 PERMISSION_DENIED

`authenticate` reads the key from metadata `x-api-key` (the REST door maps the
`X-API-Key` header to it; the MCP door should do the same, or pass an
`Authorization: Bearer` token as `x-api-key`) and returns a `Principal`:
the key's id, scopes and allowed targets. Both raise `CoordinatorError`, so
any door renders them as it renders every other error. With no key
configured, `authenticate` returns an anonymous principal (`key_id` None) who
may do everything, under `RATE_LIMIT` if set (the configuration only allows
that on a loopback address or with ALLOW_UNAUTHENTICATED=true).

A door other than gRPC and REST (the /mcp door, the dashboard) does what
`coordinator.rpc` does, in the same order, with the parts the `Coordinator`
exposes (`coordinator.keyring`, `.limiter`, `.observer`):

    try:
        ctx.principal = keyring.authenticate(metadata)  # {"x-api-key": key}; the key id
        ctx.principal.require("mcp", target)            # then reaches logs and usage rows
        await limiter.check(ctx.principal, *targets)    # RESOURCE_EXHAUSTED, retry_after
    except Refusal as refused:                          # coordinator.errors; all three
        observer.refused(ctx, method, refused.refusal, refused.message); raise

The errors carry their HTTP status (`error.http_status`: 401, 403, 429) and,
for 429, `retry_after` seconds and a `quota` for the RateLimit headers
(`coordinator.gateway.render_error` writes them all).

Scopes: `route`, `aggregate`, `status`, `mcp` (the /mcp door), `dashboard`
(the dashboard, and the Usage and Status RPCs it reads), `admin` (implies
every other scope).

Keys are configured as SHA-256 hashes (`sha256:<hex>`; `mcp-coordinator keys
create` makes a key and its line). The presented key is hashed once and
compared with every configured hash by `hmac.compare_digest`, without an
early exit, so the time taken says nothing about which key or how much of it
matched. Only the id ever leaves this module: usage rows, logs and metric
labels carry `principal.key_id`, never the key or its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from coordinator.config import SCOPES, ApiKeyConfig, RateLimitConfig, Settings
from coordinator.errors import ErrorCode, Refusal

API_KEY_METADATA = "x-api-key"
DEFAULT_KEY_ID = "default"
ALL_SCOPES = frozenset(SCOPES)


class RefusedKey(Refusal):
    """UNAUTHENTICATED or PERMISSION_DENIED, with the reason counted in /metrics."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind one request: a configured key, or `ANONYMOUS` when auth is off."""

    key_id: str | None
    scopes: frozenset[str]
    # None: every target.
    targets: frozenset[str] | None = None
    rate_limit: RateLimitConfig | None = None
    target_rates: Mapping[str, RateLimitConfig] = field(default_factory=dict)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def may_reach(self, target: str) -> bool:
        return self.targets is None or target in self.targets

    def any_scope_of(self, scopes: tuple[str, ...]) -> str:
        """The first of `scopes` this key has (the first of all when it has none, so that
        `require` names it)."""
        return next((scope for scope in scopes if self.has_scope(scope)), scopes[0])

    def require(self, scope: str, target: str | None = None) -> None:
        """PERMISSION_DENIED unless this key has `scope` (and may reach `target`)."""
        if not self.has_scope(scope):
            raise RefusedKey(
                ErrorCode.PERMISSION_DENIED,
                f"API key {self.key_id!r} lacks the {scope!r} scope",
                "missing_scope",
            )
        if target and not self.may_reach(target):
            raise RefusedKey(
                ErrorCode.PERMISSION_DENIED,
                f"API key {self.key_id!r} may not reach target {target!r}",
                "target_not_allowed",
            )


ANONYMOUS = Principal(key_id=None, scopes=ALL_SCOPES)
"""The caller when no key is configured (without RATE_LIMIT)."""


def hash_key(key: str) -> str:
    """The form a key is configured in: `sha256:` and 64 hex digits."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A new random key: 32 bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: bytes
    principal: Principal


class KeyRing:
    """The configured keys; `authenticate(metadata)` finds the caller's."""

    def __init__(
        self, entries: Iterable[tuple[str, Principal]], anonymous: Principal = ANONYMOUS
    ) -> None:
        self._entries = tuple(
            _Entry(bytes.fromhex(h.removeprefix("sha256:")), p) for h, p in entries
        )
        self._anonymous = anonymous

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        entries = [(key.hash, _principal(key, settings.rate_limit)) for key in settings.api_keys]
        if settings.api_key:
            entries.append(
                (
                    hash_key(settings.api_key),
                    Principal(DEFAULT_KEY_ID, ALL_SCOPES, None, settings.rate_limit),
                )
            )
        anonymous = Principal(None, ALL_SCOPES, None, settings.rate_limit)
        return cls(entries, anonymous)

    @property
    def enabled(self) -> bool:
        return bool(self._entries)

    def authenticate(self, metadata: Mapping[str, str]) -> Principal:
        """The principal of the key in `metadata["x-api-key"]`; the anonymous one when no
        key is configured; UNAUTHENTICATED (a `RefusedKey`) for a missing or unknown key."""
        if not self._entries:
            return self._anonymous
        given = metadata.get(API_KEY_METADATA)
        if not given:
            raise RefusedKey(
                ErrorCode.UNAUTHENTICATED,
                "missing API key: send it as the X-API-Key header",
                "missing_key",
            )
        digest = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
        found: Principal | None = None
        for entry in self._entries:  # no early exit: every hash is compared
            if hmac.compare_digest(digest, entry.digest):
                found = entry.principal
        if found is None:
            raise RefusedKey(ErrorCode.UNAUTHENTICATED, "invalid API key", "invalid_key")
        return found


def _principal(key: ApiKeyConfig, default_rate: RateLimitConfig | None) -> Principal:
    return Principal(
        key_id=key.id,
        scopes=frozenset(key.scopes),
        targets=None if key.targets is None else frozenset(key.targets),
        rate_limit=key.rate_limit or default_rate,
        target_rates=dict(key.target_rates),
    )
