"""GET /metrics output, parsed with prometheus_client's own parser."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from coordinator.cache import CacheStats
from coordinator.metrics import Metrics
from coordinator.usage import UsageStats


def samples(metrics: Metrics) -> dict[str, list[Sample]]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    by_name: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            by_name.setdefault(sample.name, []).append(sample)
    return by_name


def value(found: dict[str, list[Sample]], name: str, **labels: str) -> float:
    matches = [s.value for s in found.get(name, []) if s.labels == labels]
    assert len(matches) == 1, (name, labels, found.get(name))
    return matches[0]


def test_requests_are_counted_and_timed_by_door_method_target_outcome() -> None:
    metrics = Metrics(["odoo_prod", "odoo_lab"])
    metrics.observe_request("http", "Route", "odoo_prod", "ok", 0.0004)
    metrics.observe_request("http", "Route", "odoo_prod", "ok", 0.02)
    metrics.observe_request("grpc", "Aggregate", "odoo_lab", "error", 3.0)

    found = samples(metrics)

    ok = {"door": "http", "method": "Route", "target": "odoo_prod", "outcome": "ok"}
    assert value(found, "mcpc_requests_total", **ok) == 2
    assert value(found, "mcpc_request_duration_seconds_count", **ok) == 2
    assert value(found, "mcpc_request_duration_seconds_sum", **ok) == pytest.approx(0.0204)
    assert value(found, "mcpc_request_duration_seconds_bucket", **ok, le="0.0005") == 1
    assert value(found, "mcpc_request_duration_seconds_bucket", **ok, le="0.0001") == 0
    assert value(found, "mcpc_request_duration_seconds_bucket", **ok, le="10.0") == 2
    error = {"door": "grpc", "method": "Aggregate", "target": "odoo_lab", "outcome": "error"}
    assert value(found, "mcpc_requests_total", **error) == 1


def test_label_values_stay_bounded() -> None:
    metrics = Metrics(["odoo_prod"])
    metrics.observe_request("smtp", "Route", "somewhere_else", "ok", 0.001)
    metrics.observe_request("http", "list all invoices of ACME; key=sk-123", "", "ok", 0.001)
    for n in range(100):
        metrics.observe_request("http", f"Method{n}", "odoo_prod", f"outcome_{n}", 0.001)

    found = samples(metrics)
    labels = [s.labels for s in found["mcpc_requests_total"]]

    assert {"door": "other", "method": "Route", "target": "other", "outcome": "ok"} in labels
    assert {"door": "http", "method": "other", "target": "none", "outcome": "ok"} in labels
    assert len({lab["method"] for lab in labels}) <= 33
    assert len({lab["outcome"] for lab in labels}) <= 33
    assert not any("sk-123" in str(lab) for lab in labels)


def test_failovers_circuit_state_and_cache() -> None:
    metrics = Metrics(["odoo_prod", "odoo_lab"])
    metrics.observe_failover("odoo_prod", "odoo_lab")
    metrics.set_circuit_state("odoo_prod", "open")
    metrics.set_circuit_state("odoo_lab", "half_open")
    metrics.set_circuit_state("unknown", "open")
    metrics.bind_cache(
        lambda: CacheStats("memory", "disabled", hits=2, misses=1, coalesced=3, stale=4, errors=0)
    )

    found = samples(metrics)

    assert value(found, "mcpc_failovers_total", from_target="odoo_prod", to_target="odoo_lab") == 1
    assert value(found, "mcpc_target_circuit_state", target="odoo_prod") == 2
    assert value(found, "mcpc_target_circuit_state", target="odoo_lab") == 1
    assert len(found["mcpc_target_circuit_state"]) == 2
    assert value(found, "mcpc_cache_events_total", result="hit") == 2
    assert value(found, "mcpc_cache_events_total", result="miss") == 1
    assert value(found, "mcpc_cache_events_total", result="coalesced") == 3
    assert value(found, "mcpc_cache_events_total", result="stale") == 4


def test_circuit_gauges_start_closed_for_every_target() -> None:
    found = samples(Metrics(["odoo_prod", "odoo_lab"]))
    assert value(found, "mcpc_target_circuit_state", target="odoo_prod") == 0
    assert value(found, "mcpc_target_circuit_state", target="odoo_lab") == 0


def test_usage_queue_and_drops_are_read_at_scrape_time() -> None:
    metrics = Metrics(["odoo_prod"])
    assert value(samples(metrics), "mcpc_usage_dropped_total") == 0

    current = UsageStats("postgres", "down", queued=42, written=100, dropped=7, last_error="x")
    metrics.bind_usage(lambda: current)
    found = samples(metrics)

    assert value(found, "mcpc_usage_queue_depth") == 42
    assert value(found, "mcpc_usage_dropped_total") == 7
    assert value(found, "mcpc_usage_written_total") == 100
    assert value(found, "mcpc_usage_sink_up", sink="postgres") == 0


def test_instances_do_not_share_a_registry() -> None:
    first, second = Metrics(["odoo_prod"]), Metrics(["odoo_prod"])
    first.observe_failover("odoo_prod", "odoo_prod")
    found = samples(first)
    assert value(found, "mcpc_failovers_total", from_target="odoo_prod", to_target="odoo_prod") == 1
    assert "mcpc_failovers_total" not in samples(second)


def test_status_reads_totals_back() -> None:
    metrics = Metrics(["odoo_prod", "odoo_lab"])
    metrics.observe_request("http", "Route", "odoo_prod", "ok", 0.001)
    metrics.observe_request("http", "Route", "odoo_lab", "error", 0.001)
    metrics.observe_request("grpc", "Status", None, "ok", 0.001)

    assert metrics.requests_by_door_and_method() == {("http", "Route"): 2, ("grpc", "Status"): 1}


def test_openmetrics_carries_the_trace_id_as_the_latency_exemplar() -> None:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse

    metrics = Metrics(["odoo_prod"])
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    metrics.observe_request("http", "Route", "odoo_prod", "ok", 0.003, trace_id=trace_id)
    metrics.observe_request("http", "Route", "odoo_prod", "ok", 0.3)  # untraced: no exemplar

    body, content_type = metrics.render("application/openmetrics-text; version=1.0.0")

    assert content_type.startswith("application/openmetrics-text")
    exemplars = [
        (sample.labels["le"], sample.exemplar.labels)
        for family in parse(body.decode())  # type: ignore[no-untyped-call]
        for sample in family.samples
        if sample.name == "mcpc_request_duration_seconds_bucket" and sample.exemplar
    ]
    assert exemplars == [("0.005", {"trace_id": trace_id})]
    plain, plain_type = metrics.render("text/plain")
    assert plain_type.startswith("text/plain")
    assert trace_id not in plain.decode()
