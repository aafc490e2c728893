"""Rate limits per key (and per key and target): GCRA in Redis shared by every replica,
a local share while Redis is down, 429 / RESOURCE_EXHAUSTED with when to retry."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from mcpcoordinator.v1 import coordinator_pb2 as pb
from redis.asyncio import Redis

from coordinator.auth import ALL_SCOPES, KeyRing, Principal, hash_key
from coordinator.config import ApiKeyConfig, RateLimitConfig
from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.ratelimit import LocalGcra, RateLimiter, limits_for
from tests.cache.support import RedisServer
from tests.integration.conftest import Running, running, settings_for
from tests.support.mcp_servers import SampleServer, free_port

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DEAD_REDIS = "redis://127.0.0.1:1/0"
# Slow enough that no token comes back during a test: what is admitted is the burst alone.
SLOW = 0.001


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def principal(burst: int, rate: float = SLOW, **target_rates: RateLimitConfig) -> Principal:
    return Principal(
        key_id=f"test-{uuid.uuid4().hex[:12]}",
        scopes=ALL_SCOPES,
        rate_limit=RateLimitConfig(rate=rate, burst=burst),
        target_rates=target_rates,
    )


async def wait_until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def redis_cleanup() -> AsyncIterator[list[str]]:
    ids: list[str] = []
    yield ids
    client = Redis.from_url(REDIS_URL)
    for key_id in ids:
        keys = [k async for k in client.scan_iter(f"mcpc:rl:{{{key_id}}}*")]
        if keys:
            await client.delete(*keys)
    await client.aclose()


def test_local_gcra_admits_the_burst_then_one_request_per_interval() -> None:
    clock = Clock()
    gcra = LocalGcra(clock=clock)
    limits = limits_for(principal(burst=3, rate=10.0))
    assert [gcra.check(limits).admitted for _ in range(4)] == [True, True, True, False]
    refused = gcra.check(limits)
    assert refused.wait == pytest.approx(0.1)
    clock.now += 0.1
    assert gcra.check(limits).admitted
    assert not gcra.check(limits).admitted
    clock.now += 1.0  # the burst refills
    assert [gcra.check(limits).admitted for _ in range(4)] == [True, True, True, False]


def test_local_share_is_rate_and_burst_over_replicas() -> None:
    clock = Clock()
    gcra = LocalGcra(share=4, clock=clock)
    limits = limits_for(principal(burst=20, rate=10.0))
    assert sum(gcra.check(limits).admitted for _ in range(50)) == 5
    clock.now += 0.4  # one interval at a quarter of the rate
    assert sum(gcra.check(limits).admitted for _ in range(50)) == 1


def test_a_per_target_limit_applies_only_to_that_target() -> None:
    gcra = LocalGcra(clock=Clock())
    caller = principal(burst=100, odoo_prod=RateLimitConfig(rate=SLOW, burst=2))
    to_prod = limits_for(caller, "odoo_prod")
    to_lab = limits_for(caller, "odoo_lab")
    assert [gcra.check(to_prod).admitted for _ in range(3)] == [True, True, False]
    assert gcra.check(to_prod).limit.policy.endswith("/odoo_prod")
    assert all(gcra.check(to_lab).admitted for _ in range(5))


async def test_redis_limits_admit_the_burst_and_say_when_to_retry(
    redis_cleanup: list[str],
) -> None:
    caller = principal(burst=5, rate=2.0)
    redis_cleanup.append(caller.key_id or "")
    async with RateLimiter(REDIS_URL) as limiter:
        assert limiter.state().backend == "redis"
        for _ in range(5):
            await limiter.check(caller)
        with pytest.raises(CoordinatorError) as raised:
            await limiter.check(caller)
    error = raised.value
    assert error.code is ErrorCode.RESOURCE_EXHAUSTED
    assert error.retry_after is not None
    assert 0 < error.retry_after <= 0.5
    assert error.quota is not None
    assert (error.quota.limit, error.quota.window, error.quota.remaining) == (5, 3, 0)


async def test_with_redis_down_each_replica_keeps_its_share_and_never_fails(
    redis_cleanup: list[str],
) -> None:
    caller = principal(burst=10)
    async with RateLimiter(DEAD_REDIS, replicas=2, timeout=0.05) as limiter:
        codes = []
        for _ in range(20):
            try:
                await limiter.check(caller)
                codes.append("OK")
            except CoordinatorError as error:
                codes.append(error.code.name)
        state = limiter.state()
    assert codes == ["OK"] * 5 + ["RESOURCE_EXHAUSTED"] * 15
    assert (state.backend, state.redis_state, state.replicas) == ("local", "down", 2)


def rate_limited_key(key: str, burst: int) -> ApiKeyConfig:
    return ApiKeyConfig(
        id=f"test-{uuid.uuid4().hex[:12]}",
        hash=hash_key(key),
        scopes=("admin",),
        rate=SLOW,
        burst=burst,
    )


@pytest.mark.slow
async def test_two_coordinators_on_one_redis_admit_the_limit_together(
    shared_prod: SampleServer, shared_lab: SampleServer, redis_cleanup: list[str]
) -> None:
    secret = "two-replicas-key-0123456789abcdef"
    config = rate_limited_key(secret, burst=200)
    redis_cleanup.append(config.id)
    settings = settings_for(
        shared_prod.target_config(),
        shared_lab.target_config(),
        api_key=None,
        api_keys=(config,),
        redis_url=REDIS_URL,
    )
    metadata = (("x-api-key", secret),)

    async def hammer(replica: Running, calls: int) -> list[str]:
        # 16 in flight per replica: both replicas and their clients share this test's loop.
        in_flight = asyncio.Semaphore(16)

        async def one() -> str:
            async with in_flight:
                try:
                    await replica.stub.Status(pb.StatusRequest(), metadata=metadata)
                except grpc.aio.AioRpcError as error:
                    return error.code().name
            return "OK"

        return list(await asyncio.gather(*(one() for _ in range(calls))))

    replica = contextlib.asynccontextmanager(running)
    async with replica(settings) as first, replica(settings) as second:
        codes = await asyncio.gather(hammer(first, 300), hammer(second, 300))
        limiters = [first.coordinator.limiter, second.coordinator.limiter]
        backends = [limiter.state().backend for limiter in limiters if limiter is not None]
    assert backends == ["redis", "redis"]
    admitted = [replica_codes.count("OK") for replica_codes in codes]
    assert {code for replica_codes in codes for code in replica_codes} == {
        "OK",
        "RESOURCE_EXHAUSTED",
    }
    assert 196 <= sum(admitted) <= 204  # the limit, within 2%
    assert min(admitted) > 0


async def test_rest_answers_429_with_retry_after_and_ratelimit_headers_grpc_retry_info(
    shared_prod: SampleServer, shared_lab: SampleServer, redis_cleanup: list[str]
) -> None:
    secret = "rest-429-key-0123456789abcdefghij"
    config = rate_limited_key(secret, burst=2)
    redis_cleanup.append(config.id)
    settings = settings_for(
        shared_prod.target_config(),
        shared_lab.target_config(),
        api_key=None,
        api_keys=(config,),
        redis_url=REDIS_URL,
    )
    async for replica in running(settings):
        async with httpx.AsyncClient(base_url=replica.http_url) as client:
            headers = {"X-API-Key": secret}
            codes = [(await client.get("/status", headers=headers)).status_code for _ in range(2)]
            limited = await client.get("/status", headers=headers)
            metrics = (await client.get("/metrics")).text
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await replica.stub.Status(pb.StatusRequest(), metadata=(("x-api-key", secret),))
    assert codes == [200, 200]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.headers["ratelimit-policy"] == f'"{config.id}";q=2;w=2000'
    assert limited.headers["ratelimit"].startswith(f'"{config.id}";r=0;t=')
    assert limited.json()["code"] == ErrorCode.RESOURCE_EXHAUSTED.value
    assert 'mcpc_refusals_total{reason="rate_limited"} 1.0' in metrics
    assert "mcpc_rate_limit_local 0.0" in metrics

    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(raised.value)
    assert status is not None
    infos = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(infos) == 1
    retry = error_details_pb2.RetryInfo()
    infos[0].Unpack(retry)
    assert retry.retry_delay.seconds > 0


async def test_status_shows_the_local_fallback_while_redis_is_down(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    settings = settings_for(
        shared_prod.target_config(),
        shared_lab.target_config(),
        redis_url=DEAD_REDIS,
        rate_limit_replicas=3,
    )
    async for replica in running(settings):
        answer = await replica.stub.Status(
            pb.StatusRequest(), metadata=(("x-api-key", "test-key-0123456789"),)
        )
        async with httpx.AsyncClient(base_url=replica.http_url) as client:
            metrics = (await client.get("/metrics")).text
    limits = answer.rate_limits
    assert (limits.backend, limits.redis_state, limits.replicas) == ("local", "down", 3)
    assert "mcpc_rate_limit_local 1.0" in metrics


def test_without_keys_rate_limit_applies_to_the_anonymous_caller() -> None:
    settings = settings_for(api_key=None, rate_limit=RateLimitConfig(rate=SLOW, burst=2))
    anonymous = KeyRing.from_settings(settings).authenticate({})
    assert anonymous.key_id is None
    gcra = LocalGcra(clock=Clock())
    limits = limits_for(anonymous)
    assert [gcra.check(limits).admitted for _ in range(3)] == [True, True, False]
    assert limits[0].key == "mcpc:rl:{~anonymous}"


async def test_an_aggregate_counts_against_the_limit_of_every_target_it_reaches(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> None:
    secret = "per-target-key-0123456789abcdefgh"
    config = ApiKeyConfig(
        id="per-target",
        hash=hash_key(secret),
        scopes=("route", "aggregate"),
        target_rates={"odoo_prod": RateLimitConfig(rate=SLOW, burst=1)},
    )
    settings = settings_for(
        shared_prod.target_config(),
        shared_lab.target_config(),
        api_key=None,
        api_keys=(config,),
    )
    metadata = (("x-api-key", secret),)
    async for replica in running(settings):
        first = await replica.stub.Aggregate(
            pb.AggregateRequest(tool="list_skills"), metadata=metadata
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await replica.stub.Aggregate(pb.AggregateRequest(tool="list_skills"), metadata=metadata)
        lab = await replica.stub.Route(
            pb.RouteRequest(tool="list_skills", target="odoo_lab"), metadata=metadata
        )
    assert sorted(first.aggregation.targets) == ["odoo_lab", "odoo_prod"]
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "per-target/odoo_prod" in (raised.value.details() or "")
    assert lab.routing.target == "odoo_lab"


@pytest.mark.slow
async def test_the_limiter_falls_back_while_redis_is_down_and_shares_again_after() -> None:
    server = RedisServer(free_port())
    server.start()
    try:
        caller = principal(burst=1000)
        async with RateLimiter(server.url, replicas=2, timeout=0.2, probe_delay=0.05) as limiter:
            await limiter.check(caller)
            assert limiter.state().backend == "redis"
            server.kill()
            await limiter.check(caller)  # never fails for Redis: the local share answers
            assert (limiter.state().backend, limiter.state().redis_state) == ("local", "down")
            server.start()  # empty: the script must be loaded again
            await wait_until(lambda: limiter.state().backend == "redis", within=20)
            await limiter.check(caller)
            assert limiter.state().redis_state == "up"
    finally:
        server.kill()


async def test_a_flushed_script_is_loaded_again_and_the_limit_still_holds() -> None:
    """Redis restarted or SCRIPT FLUSH: the limiter loads its script again, stays on Redis."""
    server = RedisServer(free_port())
    server.start()
    try:
        caller = principal(burst=3)
        async with RateLimiter(server.url) as limiter:
            await limiter.check(caller)
            client = Redis.from_url(server.url)
            await client.script_flush()
            await client.aclose()
            await limiter.check(caller)
            await limiter.check(caller)
            assert limiter.state().backend == "redis"
            with pytest.raises(CoordinatorError) as raised:
                await limiter.check(caller)  # the burst of 3 was counted across the flush
        assert raised.value.code is ErrorCode.RESOURCE_EXHAUSTED
    finally:
        server.kill()
