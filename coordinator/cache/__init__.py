"""Response cache: in-process or Redis, coalescing, stale-if-error.

How the service is meant to use it::

    cache = open_cache(settings.redis_url, ttl=settings.cache_ttl)
    async with cache:  # connects; never fails when Redis is down
        ...
        if cacheable(method, params, tool):
            key = cache_key(namespace="resp", target=target, method=method, params=params)
            if not no_cache and (entry := await cache.get(key)) is not None:
                return entry.value  # routing.cached = True; do not mutate entry.value

            async def fetch() -> Any:
                result = await call_target(target, method, params)
                if storable(result):
                    await cache.put(key, value=result, target=target)
                return result

            return await cache.coalesce(key, fetch)
        ...
        # every candidate target failed:
        if (stale := await cache.get_stale(key)) is not None:
            return stale.value  # stale.stale is True, stale.target produced it

`cache.stats()` gives the counters and the Redis state for `Status`.
"""

from coordinator.cache.entry import CacheEntry, CacheStats
from coordinator.cache.keys import KEY_PREFIX, cache_key, canonical_json
from coordinator.cache.policy import READ_ONLY_METHODS, ToolLike, cacheable, storable
from coordinator.cache.response_cache import ResponseCache, open_cache

__all__ = [
    "KEY_PREFIX",
    "READ_ONLY_METHODS",
    "CacheEntry",
    "CacheStats",
    "ResponseCache",
    "ToolLike",
    "cache_key",
    "cacheable",
    "canonical_json",
    "open_cache",
    "storable",
]
