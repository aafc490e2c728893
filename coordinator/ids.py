"""Random ids for requests and usage rows, from the operating system's generator.

Every request takes one or two (its request id unless the caller sent one, and its usage
row's `event_id`). `uuid4()` reads 16 bytes with a system call for each; the bytes are read
4 KiB at a time instead, one call per 256 ids, and stay as random (with the change to the
MCP fast path's watch: 332 to 322 µs of CPU per /mcp call, bench/RESULTS.md "MCP door").
"""

from __future__ import annotations

import os
import threading

_POOL_BYTES = 4096
_ID_BYTES = 16


class _Entropy:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # grpc and the usage writer may run in other threads
        self._pool = b""
        self._at = 0

    def take(self) -> bytes:
        with self._lock:
            if self._at + _ID_BYTES > len(self._pool):
                self._pool, self._at = os.urandom(_POOL_BYTES), 0
            at = self._at
            self._at = at + _ID_BYTES
        return self._pool[at : at + _ID_BYTES]


_entropy = _Entropy()


def new_request_id() -> str:
    """32 random hex digits, the form of `uuid4().hex`."""
    return _entropy.take().hex()


def new_event_id() -> str:
    """A random (version 4) UUID in its usual text form."""
    raw = bytearray(_entropy.take())
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
