"""The in-process store (`coordinator/cache/memory_store.py`) vs cachetools."""

from __future__ import annotations

import cachetools
import orjson

from bench.libraries.timing import Clock, compare, cycle, facts, table
from coordinator.cache import CacheEntry
from coordinator.cache.memory_store import MemoryStore

CACHE_SIZE = 10_000
GRACE = 300.0  # stale-if-error keeps an entry this long past its expiry


def _cache_entries(count: int, now: float) -> list[tuple[str, CacheEntry, bytes]]:
    made = []
    for n in range(count):
        entry = CacheEntry(
            value={"content": [{"type": "text", "text": f"answer {n}"}], "isError": False},
            target="odoo_prod",
            stored_at=now,
            expires_at=now + 300 + n % 7,  # entries of one store expire at different times
        )
        made.append((f"mcpc:v1:bench:{n:064x}", entry, orjson.dumps(entry.value)))
    return made


def run(batches: int) -> list[str]:
    clock = Clock()
    now = clock.now
    entries = _cache_entries(2 * CACHE_SIZE, now)
    resident = entries[:CACHE_SIZE]

    store = MemoryStore(max_entries=CACHE_SIZE)
    ttl: cachetools.TTLCache[str, tuple[CacheEntry, bytes]] = cachetools.TTLCache(
        maxsize=CACHE_SIZE, ttl=300 + GRACE, timer=clock
    )
    # Per-entry lifetime: each value says until when it may be kept (expiry + grace).
    tlru: cachetools.TLRUCache[str, tuple[CacheEntry, bytes]] = cachetools.TLRUCache(
        maxsize=CACHE_SIZE, ttu=lambda _key, value, _now: value[0].expires_at + GRACE, timer=clock
    )
    for key, entry, encoded in resident:
        store.store(key, entry, entry.expires_at + GRACE, encoded)
        ttl[key] = (entry, encoded)
        tlru[key] = (entry, encoded)

    hits = cycle([key for key, _, _ in resident])
    missing = "mcpc:v1:bench:absent"

    def tlru_lookup_encoded(key: str, encoded: bytes) -> CacheEntry | None:
        slot = tlru.get(key)
        return slot[0] if slot is not None and slot[1] == encoded else None

    encoded_hits = cycle([(key, encoded) for key, _, encoded in resident])
    # Each cache is given the keys it does not hold, in a cycle twice its size: every store
    # into the full cache evicts the least recently used entry.
    absent = entries[CACHE_SIZE:] + resident
    store_next, ttl_next, tlru_next = cycle(absent), cycle(absent), cycle(absent)

    def store_new() -> None:
        key, entry, encoded = next(store_next)
        store.store(key, entry, entry.expires_at + GRACE, encoded)

    def ttl_new() -> None:
        key, entry, encoded = next(ttl_next)
        ttl[key] = (entry, encoded)

    def tlru_new() -> None:
        key, entry, encoded = next(tlru_next)
        tlru[key] = (entry, encoded)

    batch = 2000
    lines = ["## cache: `MemoryStore` vs cachetools", ""]
    lines += table(
        "get, hit (10,000 entries)",
        compare(
            {
                "MemoryStore.lookup": lambda: store.lookup(next(hits), now),
                "cachetools.TTLCache.get": lambda: ttl.get(next(hits)),
                "cachetools.TLRUCache.get": lambda: tlru.get(next(hits)),
            },
            batches,
            batch,
        ),
        "MemoryStore.lookup",
    )
    lines += table(
        "get, miss",
        compare(
            {
                "MemoryStore.lookup": lambda: store.lookup(missing, now),
                "cachetools.TTLCache.get": lambda: ttl.get(missing),
                "cachetools.TLRUCache.get": lambda: tlru.get(missing),
            },
            batches,
            batch,
        ),
        "MemoryStore.lookup",
    )
    lines += table(
        "lookup of the decoded entry by its Redis bytes (hit)",
        compare(
            {
                "MemoryStore.lookup_encoded": lambda: store.lookup_encoded(*next(encoded_hits)),
                "TLRUCache.get + bytes compare": lambda: tlru_lookup_encoded(*next(encoded_hits)),
            },
            batches,
            batch,
        ),
        "MemoryStore.lookup_encoded",
    )
    lines += table(
        "put into a full cache (evicts one)",
        compare(
            {"MemoryStore.store": store_new, "TTLCache set": ttl_new, "TLRUCache set": tlru_new},
            batches,
            batch,
        ),
        "MemoryStore.store",
    )
    lines += facts(_cache_facts())
    return lines


def _cache_facts() -> list[tuple[str, str]]:
    clock = Clock()
    entry_short = CacheEntry(value=1, target="a", stored_at=clock.now, expires_at=clock.now + 10)
    entry_long = CacheEntry(value=2, target="a", stored_at=clock.now, expires_at=clock.now + 100)
    tlru: cachetools.TLRUCache[str, CacheEntry] = cachetools.TLRUCache(
        maxsize=10, ttu=lambda _k, v, _n: v.expires_at + GRACE, timer=clock
    )
    tlru["short"], tlru["long"] = entry_short, entry_long
    clock.now += 10 + GRACE + 1
    per_entry = "short" not in tlru and "long" in tlru
    ttl: cachetools.TTLCache[str, CacheEntry] = cachetools.TTLCache(
        maxsize=10, ttl=100, timer=clock
    )
    ttl["short"], ttl["long"] = entry_short, entry_long
    clock.now += 50
    ttl_per_entry = "short" not in ttl
    return [
        (
            "per-entry expiry (each answer carries its own `expires_at`)",
            f"TTLCache: {'yes' if ttl_per_entry else 'no, one ttl for every entry'}; "
            f"TLRUCache: {'yes' if per_entry else 'no'}, `ttu(key, value, now)`",
        ),
        (
            "stale grace (keep past expiry for stale-if-error)",
            "TLRUCache: yes, `ttu` returns expiry + grace; telling fresh from stale stays with "
            "the caller (as now: `CacheEntry.expires_at`)",
        ),
        (
            "lookup of the decoded entry by its Redis bytes",
            "yes, with `(entry, bytes)` as the value and a compare by the caller",
        ),
        (
            "injected clock",
            "yes, `timer=`; the store then reads the clock itself instead of being given `now`",
        ),
        ("LRU bound", "yes: expired entries go first, then the least recently used"),
    ]
