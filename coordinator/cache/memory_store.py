"""The in-process store: a bounded, least-recently-used dict of entries.

Entries are kept until their expiry plus the stale grace, then dropped when
next looked up; when the store is full, the least recently used entry goes.
Every operation is O(1). Time is passed in by the caller, whose clock tests
move by hand.

In front of Redis, the store also remembers the bytes each entry was stored
in Redis as. A Redis read that returns exactly those bytes reuses the decoded
entry instead of parsing the JSON again; Redis stays the source of truth,
the store only saves the decoding.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from coordinator.cache.entry import CacheEntry


class _Slot(NamedTuple):
    entry: CacheEntry
    keep_until: float  # after this not even a stale answer may use the entry
    encoded: bytes | None  # the entry as stored in Redis, if it was


class MemoryStore:
    def __init__(self, *, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self._max_entries = max_entries
        self._slots: OrderedDict[str, _Slot] = OrderedDict()

    def __len__(self) -> int:
        return len(self._slots)

    def lookup(self, key: str, now: float) -> CacheEntry | None:
        """The entry under `key` if it is still kept at `now` (fresh or stale)."""
        slot = self._slots.get(key)
        if slot is None:
            return None
        if now > slot.keep_until:
            del self._slots[key]
            return None
        self._slots.move_to_end(key)
        return slot.entry

    def lookup_encoded(self, key: str, encoded: bytes) -> CacheEntry | None:
        """The entry under `key` if it was stored from exactly `encoded`, else None."""
        slot = self._slots.get(key)
        if slot is None or slot.encoded != encoded:
            return None
        self._slots.move_to_end(key)
        return slot.entry

    def store(
        self, key: str, entry: CacheEntry, keep_until: float, encoded: bytes | None = None
    ) -> None:
        self._slots[key] = _Slot(entry, keep_until, encoded)
        self._slots.move_to_end(key)
        while len(self._slots) > self._max_entries:
            self._slots.popitem(last=False)
