"""Rate limits per API key (and per key and target): GCRA, shared through Redis.

The generic cell rate algorithm keeps one number per limit, the theoretical
arrival time (TAT) of the next request. A request is admitted when
`max(TAT, now) + interval - now <= burst * interval`, and then moves TAT by one
`interval` (`1 / rate`). With `REDIS_URL` every limit of a request is checked
and moved by one Lua script on Redis's own clock (`TIME`), so every replica
shares one limit exactly, whatever their clocks say, at one round trip per
request. The keys of one API key share a hash tag, so the script also runs on
Redis Cluster.

Redis down (an error or a `timeout`): each replica keeps the limits in
process at `rate / RATE_LIMIT_REPLICAS` (and burst likewise), never failing a
request for it, and pings Redis in the background until it answers. `state()`
says which is in use, for Status and /metrics. Without `REDIS_URL` the limits
are kept in process at the full rate.

A refusal is RESOURCE_EXHAUSTED (HTTP 429) carrying `retry_after` and a
`Quota` (the IETF RateLimit-Policy / RateLimit headers over HTTP, a RetryInfo
detail over gRPC).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from coordinator.auth import Principal
from coordinator.cache.redis_store import redact_url
from coordinator.config import RateLimitConfig
from coordinator.errors import ErrorCode, Quota, Refusal

log = logging.getLogger("coordinator.ratelimit")

Backend = Literal["redis", "local", "disabled"]
# Key ids start with a letter or digit, so this never names a configured key.
ANONYMOUS_NAME = "~anonymous"

# KEYS: one per limit. ARGV: interval and tolerance (burst * interval) per limit, in µs.
# Returns {admitted, wait µs, index of the limit that refused (1 when admitted)}.
GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = #KEYS
local tats = {}
local wait, worst = 0, 1
for i = 1, n do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local over = new_tat - tolerance - now
  if over > wait then wait, worst = over, i end
  tats[i] = new_tat
end
if wait > 0 then
  return {0, math.ceil(wait), worst}
end
for i = 1, n do
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX',
             math.ceil((tats[i] - now) / 1000) + 1)
end
return {1, 0, 1}
"""


_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit a request counts against: its store key and its rate."""

    key: str
    policy: str
    config: RateLimitConfig

    @property
    def interval_us(self) -> int:
        return max(1, round(1_000_000 / self.config.rate))


@dataclass(frozen=True, slots=True)
class Verdict:
    admitted: bool
    wait: float  # seconds until the refusing limit admits one more request
    limit: Limit  # the limit that refused (the first one when admitted)


@dataclass(frozen=True, slots=True)
class RateLimitState:
    backend: Backend
    # "up", "down", or "disabled" without REDIS_URL.
    redis_state: str
    replicas: int
    refused: int


def limits_for(principal: Principal, *targets: str, key_limit: bool = True) -> list[Limit]:
    """The limits a request by `principal` to `targets` (those it names, or an Aggregate
    fans out to) counts against: the key's own (unless `key_limit` is false: the request
    was already counted against it), and the key's limit on each target."""
    name = principal.key_id or ANONYMOUS_NAME
    limits = []
    if key_limit and principal.rate_limit is not None:
        limits.append(Limit(f"mcpc:rl:{{{name}}}", name, principal.rate_limit))
    if principal.target_rates:
        for target in targets:
            per_target = principal.target_rates.get(target)
            if per_target is not None:
                limits.append(Limit(f"mcpc:rl:{{{name}}}:{target}", f"{name}/{target}", per_target))
    return limits


class _Plan:
    """The limits of one (key, targets) pair and the script's arguments, built once."""

    __slots__ = ("argv", "limits")

    def __init__(self, limits: list[Limit]) -> None:
        self.limits = limits
        intervals = [limit.interval_us for limit in limits]
        # KEYS, then ARGV: what EVALSHA takes after the script and the number of keys.
        self.argv: tuple[str | int, ...] = (
            *(limit.key for limit in limits),
            *(
                value
                for limit, interval in zip(limits, intervals, strict=True)
                for value in (interval, interval * limit.config.burst)
            ),
        )


_MAX_PLANS = 4096


class LocalGcra:
    """The same algorithm in process, on the monotonic clock, at `1/share` of each rate."""

    def __init__(self, share: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._share = share
        self._clock = clock
        self._tats: dict[str, float] = {}

    def check(self, limits: Sequence[Limit]) -> Verdict:
        now = self._clock()
        wait, worst = 0.0, limits[0]
        new_tats = []
        for limit in limits:
            interval = self._share / limit.config.rate
            tolerance = max(1, limit.config.burst // self._share) * interval
            tat = max(self._tats.get(limit.key, now), now)
            new_tat = tat + interval
            over = new_tat - tolerance - now
            if over > wait + _EPSILON:  # float sums of intervals: 1e-9 s is no wait
                wait, worst = over, limit
            new_tats.append(new_tat)
        if wait > _EPSILON:
            return Verdict(False, wait, worst)
        for limit, new_tat in zip(limits, new_tats, strict=True):
            self._tats[limit.key] = new_tat
        if len(self._tats) > 100_000:  # forget limits that are full again
            self._tats = {k: v for k, v in self._tats.items() if v > now}
        return Verdict(True, 0.0, limits[0])


class RateLimiter:
    """`await limiter.check(principal, target)` admits a request or raises
    RESOURCE_EXHAUSTED. An async context manager: it owns the Redis client."""

    def __init__(
        self,
        redis_url: str | None,
        *,
        replicas: int = 1,
        # Generous: under load the event loop itself can lag 100 ms, and a late answer
        # must not switch a healthy Redis to the local fallback.
        timeout: float = 0.5,
        probe_delay: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = redis_url
        self._replicas = replicas
        self._timeout = timeout
        self._probe_delay = probe_delay
        self._local = LocalGcra(1, clock)
        self._fallback = LocalGcra(replicas, clock)
        self._redis: Redis | None = None
        self._script_sha: str | None = None
        self._up = redis_url is not None
        self._prober: asyncio.Task[None] | None = None
        self._plans: dict[tuple[str | None, tuple[str, ...], bool], _Plan] = {}
        self.refused = 0

    async def __aenter__(self) -> RateLimiter:
        if self._url is not None:
            # The pool grows to the calls in flight, as the cache's does: a bounded one
            # costs 10 µs of CPU a call (measured), and a full one would read as Redis down.
            self._redis = Redis.from_url(
                self._url,
                socket_connect_timeout=self._timeout,
                socket_timeout=self._timeout,
                retry=Retry(NoBackoff(), 0),
                health_check_interval=0,
            )
            try:
                await self._load_script()
            except Exception as exc:
                self._went_down(exc)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        if self._redis is not None:
            await self._redis.aclose()

    def state(self) -> RateLimitState:
        if self._redis is None:
            return RateLimitState("local", "disabled", self._replicas, self.refused)
        if self._up:
            return RateLimitState("redis", "up", self._replicas, self.refused)
        return RateLimitState("local", "down", self._replicas, self.refused)

    async def check(self, principal: Principal, *targets: str, key_limit: bool = True) -> None:
        """Admits one request by `principal` to `targets`, or raises RESOURCE_EXHAUSTED.
        `key_limit=False` counts it against the per-target limits only (the MCP door counts
        every HTTP request against the key's limit before it knows the call's target)."""
        plan_key = (principal.key_id, targets, key_limit)
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = _Plan(limits_for(principal, *targets, key_limit=key_limit))
            if len(self._plans) < _MAX_PLANS:
                self._plans[plan_key] = plan
        if not plan.limits:
            return
        verdict = await self._verdict(plan)
        if verdict.admitted:
            return
        self.refused += 1
        limit = verdict.limit
        raise Refusal(
            ErrorCode.RESOURCE_EXHAUSTED,
            f"rate limit of {limit.policy} exceeded ({_describe(limit.config)});"
            f" retry in {verdict.wait:.3f} s",
            "rate_limited",
            retry_after=verdict.wait,
            quota=Quota(
                name=limit.policy,
                limit=limit.config.burst,
                window=max(1, math.ceil(limit.config.burst / limit.config.rate)),
                remaining=0,
                reset=max(1, math.ceil(verdict.wait)),
            ),
        )

    async def _verdict(self, plan: _Plan) -> Verdict:
        if self._redis is None:
            return self._local.check(plan.limits)
        if self._up:
            try:
                return await self._redis_check(plan)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever Redis does, the request goes on
                self._went_down(exc)
        return self._fallback.check(plan.limits)

    async def _redis_check(self, plan: _Plan) -> Verdict:
        assert self._redis is not None
        sha = self._script_sha or await self._load_script()
        try:
            raw = await self._redis.evalsha(sha, len(plan.limits), *plan.argv)
        except NoScriptError:  # Redis restarted, or SCRIPT FLUSH
            sha = await self._load_script()
            raw = await self._redis.evalsha(sha, len(plan.limits), *plan.argv)
        admitted, wait_us, index = (int(v) for v in raw)
        return Verdict(bool(admitted), wait_us / 1e6, plan.limits[index - 1])

    async def _load_script(self) -> str:
        assert self._redis is not None
        sha: str = await self._redis.script_load(GCRA_SCRIPT)
        self._script_sha = sha
        return sha

    def _went_down(self, exc: Exception) -> None:
        if not self._up and self._prober is not None:
            return
        self._up = False
        log.warning(
            "rate limits: redis at %s is unreachable (%s); each replica keeps 1/%d of every"
            " limit in process until it is back",
            redact_url(self._url or ""),
            type(exc).__name__,
            self._replicas,
        )
        self._prober = asyncio.create_task(self._probe(), name="rate-limit-redis-prober")

    async def _probe(self) -> None:
        assert self._redis is not None
        delay = self._probe_delay
        while True:
            await asyncio.sleep(delay)
            try:
                await self._load_script()
            except Exception:
                delay = min(delay * 2, 10.0)
                continue
            self._up = True
            self._prober = None
            log.info("rate limits: redis is back; limits are shared again")
            return


def _describe(config: RateLimitConfig) -> str:
    rate = f"{config.rate:g}/s" if config.rate >= 1 else f"{config.rate * 60:g}/min"
    return f"{rate}, burst {config.burst}"
