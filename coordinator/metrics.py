"""Prometheus metrics for GET /metrics, in a registry of their own.

Every label value is bounded: targets are the configured names (anything else is "other",
no target is "none"), doors are grpc/http/mcp, and methods and outcomes keep the first
`MAX_LABEL_VALUES` distinct identifier-like values. No query text, tool arguments or keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Final, TypeAlias

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.samples import Sample

from coordinator.cache import CacheStats
from coordinator.usage import UsageStats

# 0.1 ms (a cache hit) up to 10 s (the default deadline).
REQUEST_BUCKETS: Final = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
DOORS: Final = frozenset({"grpc", "http", "mcp"})
CIRCUIT_STATES: Final = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
REFUSAL_REASONS: Final = frozenset(
    {"missing_key", "invalid_key", "missing_scope", "target_not_allowed", "rate_limited"}
)
MAX_LABEL_VALUES: Final = 32
OTHER: Final = "other"
NO_TARGET: Final = "none"

_LABEL_VALUE = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]{0,63}$")
# Past this many distinct raw inputs, children are looked up without being remembered.
_MAX_CACHED_CHILDREN = 4096

_RequestChildren: TypeAlias = tuple[Counter, Histogram]


class _BoundedValues:
    """Accepts the first `limit` distinct identifier-like values; the rest become "other"."""

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) < self._limit and _LABEL_VALUE.match(value):
            self._seen.add(value)
            return value
        return OTHER


class _UsageCollector:
    """Reads the usage recorder's counters at scrape time: nothing to update per request."""

    def __init__(self) -> None:
        self.stats: Callable[[], UsageStats] | None = None

    def collect(self) -> Iterator[Metric]:
        stats = self.stats() if self.stats is not None else None
        yield GaugeMetricFamily(
            "mcpc_usage_queue_depth",
            "Usage events waiting to be written to the sink.",
            value=stats.queued if stats else 0,
        )
        yield CounterMetricFamily(
            "mcpc_usage_dropped",
            "Usage events dropped: queue full, refused by the sink, or unwritten at shutdown.",
            value=stats.dropped if stats else 0,
        )
        yield CounterMetricFamily(
            "mcpc_usage_written",
            "Usage events stored by the sink.",
            value=stats.written if stats else 0,
        )
        up = GaugeMetricFamily(
            "mcpc_usage_sink_up", "1 when the usage sink accepts writes.", labels=["sink"]
        )
        if stats is not None:
            up.add_metric([stats.sink], 1.0 if stats.state == "up" else 0.0)
        yield up


class _CacheCollector:
    """Reads the response cache's counters at scrape time: the same numbers as Status."""

    def __init__(self) -> None:
        self.stats: Callable[[], CacheStats | None] | None = None

    def collect(self) -> Iterator[Metric]:
        stats = self.stats() if self.stats is not None else None
        events = CounterMetricFamily(
            "mcpc_cache_events",
            "Response cache lookups by result: hit, miss, coalesced, stale.",
            labels=["result"],
        )
        if stats is not None:
            events.add_metric(["hit"], stats.hits)
            events.add_metric(["miss"], stats.misses)
            events.add_metric(["coalesced"], stats.coalesced)
            events.add_metric(["stale"], stats.stale)
        yield events


class Metrics:
    """The coordinator's metrics. Methods are cheap: labelled children are cached."""

    def __init__(self, target_names: Iterable[str]) -> None:
        self.registry = CollectorRegistry()
        self._targets = frozenset(target_names)
        self._methods = _BoundedValues()
        self._outcomes = _BoundedValues()
        labels = ("door", "method", "target", "outcome")
        self._requests = Counter(
            "mcpc_requests",
            "Requests handled, by door, method, chosen target and outcome.",
            labels,
            registry=self.registry,
        )
        self._durations = Histogram(
            "mcpc_request_duration_seconds",
            "Time to answer a request, by door, method, chosen target and outcome.",
            labels,
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self._failovers = Counter(
            "mcpc_failovers",
            "Requests answered by another target after the first choice failed.",
            ("from_target", "to_target"),
            registry=self.registry,
        )
        self._circuit = Gauge(
            "mcpc_target_circuit_state",
            "Circuit breaker of each target: 0 closed, 1 half-open, 2 open.",
            ("target",),
            registry=self.registry,
        )
        self._cache = _CacheCollector()
        self.registry.register(self._cache)
        self._refusals = Counter(
            "mcpc_refusals",
            "Requests refused before any work, by reason: missing_key, invalid_key,"
            " missing_scope, target_not_allowed, rate_limited.",
            ("reason",),
            registry=self.registry,
        )
        self._keys = _BoundedValues(limit=256)
        self._by_key = Counter(
            "mcpc_requests_by_key",
            'Requests admitted, by the id of the caller\'s API key ("none" with auth off).',
            ("key",),
            registry=self.registry,
        )
        self._rate_limit_local = Gauge(
            "mcpc_rate_limit_local",
            "1 while rate limits are kept in this process (Redis down: rate/replicas),"
            " 0 while Redis keeps them.",
            registry=self.registry,
        )
        self._usage = _UsageCollector()
        self.registry.register(self._usage)
        self._request_children: dict[tuple[str, str, str | None, str], _RequestChildren] = {}
        for name in sorted(self._targets):
            self._circuit.labels(name).set(0.0)

    def target_label(self, target: str | None) -> str:
        if not target:
            return NO_TARGET
        return target if target in self._targets else OTHER

    def observe_request(
        self,
        door: str,
        method: str,
        target: str | None,
        outcome: str,
        seconds: float,
        *,
        trace_id: str = "",
    ) -> None:
        """One answered request (`target` is the one that answered or was last tried).
        `trace_id` becomes the latency's exemplar (shown in the OpenMetrics exposition)."""
        key = (door, method, target, outcome)
        children = self._request_children.get(key)
        if children is None:
            children = self._request_children_for(door, method, target, outcome)
            if len(self._request_children) < _MAX_CACHED_CHILDREN:
                self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds, {"trace_id": trace_id} if trace_id else None)

    def observe_failover(self, from_target: str, to_target: str) -> None:
        self._failovers.labels(self.target_label(from_target), self.target_label(to_target)).inc()

    def set_circuit_state(self, target: str, state: str) -> None:
        """`state`: closed, half_open or open. Unknown targets or states are ignored."""
        value = CIRCUIT_STATES.get(state)
        if value is not None and target in self._targets:
            self._circuit.labels(target).set(value)

    def bind_cache(self, stats: Callable[[], CacheStats | None]) -> None:
        """Reports the response cache's counters (those of Status) at each scrape."""
        self._cache.stats = stats

    def observe_refusal(self, reason: str) -> None:
        """One refused request (see REFUSAL_REASONS; anything else counts as "other")."""
        self._refusals.labels(reason if reason in REFUSAL_REASONS else OTHER).inc()

    def observe_key(self, key_id: str | None) -> None:
        """One admitted request by the key with this id (configured ids only)."""
        self._by_key.labels(self._keys(key_id) if key_id else "none").inc()

    def set_rate_limit_local(self, local: bool) -> None:
        self._rate_limit_local.set(1.0 if local else 0.0)

    def bind_usage(self, stats: Callable[[], UsageStats]) -> None:
        """Reports the usage recorder's queue depth, drops and sink state at each scrape."""
        self._usage.stats = stats

    def requests_by_door_and_method(self) -> dict[tuple[str, str], int]:
        """Requests counted since start, per (door, method), for /status."""
        totals: dict[tuple[str, str], int] = {}
        for sample in _samples(self._requests):
            if sample.name.endswith("_total"):
                key = (sample.labels["door"], sample.labels["method"])
                totals[key] = totals.get(key, 0) + int(sample.value)
        return totals

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition and its content type, for GET /metrics: OpenMetrics (which carries
        the exemplars) when `accept` (the Accept header) asks for it, else Prometheus text."""
        if "application/openmetrics-text" in accept:
            body: bytes = openmetrics.generate_latest(self.registry)  # type: ignore[no-untyped-call]
            return body, openmetrics.CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _request_children_for(
        self, door: str, method: str, target: str | None, outcome: str
    ) -> _RequestChildren:
        values = (
            door if door in DOORS else OTHER,
            self._methods(method),
            self.target_label(target),
            self._outcomes(outcome),
        )
        return self._requests.labels(*values), self._durations.labels(*values)


def _samples(metric: Counter) -> Iterator[Sample]:
    for family in metric.collect():
        yield from family.samples
