"""Interleaved CPU-time measurement and the Markdown the library benchmarks print."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TypeVar

Timed = Callable[[], object]
T = TypeVar("T")


def compare(contenders: dict[str, Timed], batches: int, batch: int) -> dict[str, float]:
    """Median µs per call of each contender, batches interleaved round-robin."""
    _freeze_setup()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for operation in contenders.values():  # warm-up
        for _ in range(batch):
            operation()
    for _ in range(batches):
        for name, operation in contenders.items():
            start = time.thread_time_ns()
            for _ in range(batch):
                operation()
            samples[name].append((time.thread_time_ns() - start) / 1000 / batch)
    return {name: statistics.median(values) for name, values in samples.items()}


async def compare_async(
    contenders: dict[str, Callable[[], Awaitable[object]]], batches: int, batch: int
) -> dict[str, float]:
    _freeze_setup()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for operation in contenders.values():
        for _ in range(batch):
            await operation()
    for _ in range(batches):
        for name, operation in contenders.items():
            start = time.thread_time_ns()
            for _ in range(batch):
                await operation()
            samples[name].append((time.thread_time_ns() - start) / 1000 / batch)
    return {name: statistics.median(values) for name, values in samples.items()}


def _freeze_setup() -> None:
    """Moves what the set-up made out of the collector's sight, as `serve` does after
    start-up, so a full collection walking it does not land on whichever contender
    happens to run at that moment."""
    gc.collect()
    gc.freeze()


def table(title: str, results: dict[str, float], baseline: str) -> list[str]:
    lines = [f"### {title}", "", "| contender | µs per call | vs hand-written |", "|---|---|---|"]
    for name, micros in results.items():
        lines.append(f"| {name} | {micros:.2f} | {micros / results[baseline]:.2f}x |")
    return [*lines, ""]


def facts(rows: list[tuple[str, str]]) -> list[str]:
    lines = ["| question | answer |", "|---|---|"]
    lines += [f"| {question} | {answer} |" for question, answer in rows]
    return [*lines, ""]


class Clock:
    """A clock the caller moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def cycle(items: Sequence[T]) -> Iterator[T]:
    while True:
        yield from items


class Refused(Exception):
    """What a target that is down raises in these benchmarks."""
