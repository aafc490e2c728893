"""Recording usage events off the request path: a bounded queue drained in batches by one task.

`record()` only appends to two deques. A background writer sends batches to the sink; while the
sink is slow or down the queue fills to its bound and further events are dropped and counted.
Events leave the queue only once the sink has stored them, so a failed batch is sent again after
recovery, and the sink's idempotent write (keyed by the event's own id) keeps that from
duplicating rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from coordinator.usage.events import UsageEvent
from coordinator.usage.sink import SinkName, UsageSink, UsageSinkError

logger = logging.getLogger("coordinator.usage")

SinkState = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class UsageStats:
    """A snapshot for /status and /metrics.

    `written`: stored by the sink (memory recorder: kept in the ring); `dropped`: queue full,
    refused by the sink, or still unwritten at exit.
    """

    sink: SinkName
    state: SinkState
    queued: int
    written: int
    dropped: int
    last_error: str | None


class UsageRecorder:
    """Owns the queue, the in-process ring of recent events and the writer task.

    Use as `async with recorder:`; call `record()` from the event loop's thread.
    """

    def __init__(
        self,
        sink: UsageSink | None,
        *,
        queue_size: int = 10_000,
        batch_size: int = 200,
        flush_interval: float = 0.5,
        ring_size: int = 1_000,
        max_backoff: float = 5.0,
        open_timeout: float = 2.0,
        close_timeout: float = 5.0,
    ) -> None:
        if queue_size < 1 or batch_size < 1 or ring_size < 1:
            raise ValueError("queue_size, batch_size and ring_size must be at least 1")
        if flush_interval <= 0 or max_backoff <= 0:
            raise ValueError("flush_interval and max_backoff must be positive")
        self._sink = sink
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_backoff = max(max_backoff, flush_interval)
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout

        self._ring: deque[UsageEvent] = deque(maxlen=ring_size)
        self._queue: deque[UsageEvent] = deque()
        self._written = 0
        # Events at the head of the queue to send one at a time: their batch was refused for
        # good, so only the one event that can never be stored is dropped.
        self._singles = 0
        self._dropped = 0
        self._state: SinkState = "up"
        self._last_error: str | None = None
        # One warning per incident (sink down, or queue full), not one per event or retry.
        self._incident_logged = False
        self._down_since = 0.0
        self._dropped_before_incident = 0
        self._backoff = flush_interval

        self._wake: asyncio.Event | None = None
        self._close_requested: asyncio.Event | None = None
        # Set by the writer each time it has emptied the queue (for `flush`).
        self._emptied: asyncio.Event | None = None
        self._closing = False
        self._writer: asyncio.Task[None] | None = None

    @property
    def sink_name(self) -> SinkName:
        return "memory" if self._sink is None else self._sink.name

    # --- the request path -------------------------------------------------------------------

    def record(self, event: UsageEvent) -> None:
        """Keeps the event for `recent()`, queues it for the sink. O(1); never blocks or raises."""
        try:
            self._ring.append(event)
            if self._sink is None:
                self._written += 1
                return
            queue = self._queue
            if len(queue) >= self._queue_size:
                self._dropped += 1
                if not self._incident_logged:
                    self._log_queue_full()
                return
            queue.append(event)
            if len(queue) >= self._batch_size and self._wake is not None:
                self._wake.set()
        except Exception:  # pragma: no cover - recording must never fail a request
            logger.exception("usage event not recorded")

    def recent(self, limit: int = 100) -> list[UsageEvent]:
        """The most recent events, newest first, from the in-process ring (any sink)."""
        return list(itertools.islice(reversed(self._ring), max(limit, 0)))

    def window(self) -> list[UsageEvent]:
        """Every event of the in-process ring, oldest first (the Usage RPC's window)."""
        return list(self._ring)

    def stats(self) -> UsageStats:
        return UsageStats(
            sink=self.sink_name,
            state=self._state,
            queued=len(self._queue),
            written=self._written,
            dropped=self._dropped,
            last_error=self._last_error,
        )

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> UsageRecorder:
        if self._sink is None or self._writer is not None:
            return self
        self._wake = asyncio.Event()
        self._close_requested = asyncio.Event()
        self._emptied = asyncio.Event()
        try:
            async with asyncio.timeout(self._open_timeout):
                await self._sink.open()
        except UsageSinkError as exc:
            self._mark_down(str(exc))
        except TimeoutError:
            self._mark_down(f"no connection within {self._open_timeout:g} s")
        self._writer = asyncio.create_task(self._run(), name="usage-writer")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Flushes what is queued within `close_timeout` seconds, then closes the sink."""
        writer, self._writer = self._writer, None
        if self._sink is None or writer is None:
            return
        assert self._wake is not None
        assert self._close_requested is not None
        self._closing = True
        self._close_requested.set()
        self._wake.set()
        _, pending = await asyncio.wait({writer}, timeout=self._close_timeout)
        if pending:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        elif not writer.cancelled() and writer.exception() is not None:  # pragma: no cover
            logger.error("usage writer failed", exc_info=writer.exception())
        unwritten = len(self._queue)
        if unwritten:
            self._dropped += unwritten
            self._queue.clear()
            logger.warning(
                "usage: %d events not written at shutdown (sink %s: %s)",
                unwritten,
                self.sink_name,
                self._last_error or "too slow",
                extra={"sink": self.sink_name, "dropped": unwritten},
            )
        await self._sink.close()

    async def flush(self, within: float = 5.0) -> bool:
        """Asks the writer to send what is queued now; True once the queue is empty."""
        if self._sink is None or self._writer is None:
            return not self._queue
        assert self._wake is not None
        assert self._emptied is not None
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while self._queue:
                    self._emptied.clear()
                    await self._emptied.wait()
        return not self._queue

    # --- the writer ---------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while not (self._closing and not self._queue):
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._flush_interval):
                        await self._wake.wait()
                self._wake.clear()
            if not await self._drain():
                await self._pause()

    async def _drain(self) -> bool:
        """Sends queued events batch by batch; False when the sink failed (they stay queued)."""
        assert self._sink is not None
        queue = self._queue
        while queue:
            batch = list(itertools.islice(queue, 1 if self._singles else self._batch_size))
            try:
                await self._sink.write(batch)
            except UsageSinkError as exc:
                if exc.retryable:
                    self._mark_down(str(exc))
                    return False
                if len(batch) > 1:
                    self._singles = len(batch)  # find the row that can never be stored
                    continue
                self._discard(batch, str(exc))
                if self._singles:
                    self._singles -= 1
                    self._mark_up()
                continue
            except Exception as exc:  # a bug in a sink must not end recording
                logger.exception("usage sink %s failed unexpectedly", self.sink_name)
                self._mark_down(f"{type(exc).__name__}: {exc}")
                return False
            for _ in batch:
                queue.popleft()
            self._written += len(batch)
            self._singles = max(0, self._singles - len(batch))
            self._mark_up()
        if self._state == "up":
            self._incident_logged = False
        if self._emptied is not None:
            self._emptied.set()
        return True

    async def _pause(self) -> None:
        """Waits before retrying a failed sink, longer after each failure."""
        assert self._close_requested is not None
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self._max_backoff)
        if self._closing:
            await asyncio.sleep(min(delay, self._flush_interval))
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._close_requested.wait()

    def _discard(self, batch: list[UsageEvent], error: str) -> None:
        for _ in batch:
            self._queue.popleft()
        self._dropped += len(batch)
        self._last_error = error
        logger.error(
            "usage: sink %s refused %d events, dropped: %s",
            self.sink_name,
            len(batch),
            error,
            extra={"sink": self.sink_name, "dropped": len(batch)},
        )

    def _mark_down(self, error: str) -> None:
        self._last_error = error
        if self._state == "down":
            return
        self._state = "down"
        self._down_since = time.monotonic()
        self._dropped_before_incident = self._dropped
        if not self._incident_logged:
            self._incident_logged = True
            logger.warning(
                "usage sink %s down: %s; events queue up to %d, then are dropped and counted",
                self.sink_name,
                error,
                self._queue_size,
                extra={"sink": self.sink_name, "sink_state": "down"},
            )

    def _mark_up(self) -> None:
        self._backoff = self._flush_interval
        if self._state == "up":
            return
        self._state = "up"
        self._incident_logged = False
        logger.info(
            "usage sink %s recovered after %.1f s; %d events dropped meanwhile",
            self.sink_name,
            time.monotonic() - self._down_since,
            self._dropped - self._dropped_before_incident,
            extra={"sink": self.sink_name, "sink_state": "up"},
        )

    def _log_queue_full(self) -> None:
        self._incident_logged = True
        logger.warning(
            "usage queue full (%d events, sink %s slower than traffic): dropping and counting",
            self._queue_size,
            self.sink_name,
            extra={"sink": self.sink_name},
        )
