"""What both SQL backings share: the arguments of the report functions of `migrations/`
(`usage_rollup_*` of 005 over the per-minute rollups, `usage_recent` of 004 over the rows) and
the conversion of their rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from coordinator.usage.latency import latency_bucket, latency_percentiles
from coordinator.usage.report import (
    CountRow,
    Decision,
    DecisionAttempt,
    Dimension,
    GroupLevel,
    GroupRow,
    UsageQuery,
    UsageReport,
    build_report,
    from_micros,
)
from coordinator.usage.sink import SinkName

Row = Mapping[str, Any]


def filter_arguments(query: UsageQuery) -> dict[str, Any]:
    """The window and filters, by the functions' parameter names (None: no filter)."""
    wanted = query.filter
    return {
        "p_start": query.start,
        "p_end": query.end,
        "p_target": wanted.target,
        "p_door": wanted.door,
        "p_key_id": wanted.key_id,
        "p_outcome": wanted.outcome,
        "p_request_id": wanted.request_id,
    }


def series_arguments(query: UsageQuery) -> dict[str, Any]:
    return {**filter_arguments(query), "p_bucket_seconds": query.bucket_seconds}


def recent_arguments(query: UsageQuery) -> dict[str, Any]:
    before = query.before
    return {
        **filter_arguments(query),
        # One more than a page: its presence says that an older page exists.
        "p_limit": query.page_size + 1,
        "p_before_time": None if before is None else before.time,
        "p_before_request_id": None if before is None else before.request_id,
    }


def function_calls(query: UsageQuery) -> dict[str, dict[str, Any]]:
    """The SQL functions that answer `query`, with their arguments, by function name."""
    if query.recent_only:
        return {"usage_recent": recent_arguments(query)}
    return {
        "usage_rollup_series": series_arguments(query),
        "usage_rollup_doors": series_arguments(query),
        "usage_rollup_breakdown": filter_arguments(query),
        "usage_recent": recent_arguments(query),
    }


def report_from_rows(
    source: SinkName, query: UsageQuery, rows: Mapping[str, Sequence[Row]]
) -> UsageReport:
    """The report from each function's rows (as `function_calls` named them)."""
    groups = [group_row(r) for r in rows.get("usage_rollup_series", ())]
    groups += [door_row(r) for r in rows.get("usage_rollup_doors", ())]
    return build_report(
        source,
        query,
        groups,
        [count_row(r) for r in rows.get("usage_rollup_breakdown", ())],
        [decision_row(r) for r in rows["usage_recent"]],
    )


def as_json_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments as JSON values (times as ISO 8601 text, which PostgreSQL reads exactly)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in arguments.items()}


def group_row(row: Row) -> GroupRow:
    level = cast(GroupLevel, row["level"])
    requests = int(row["requests"])
    # The whole-window group of an empty window has no latencies (NULL sums, min and max).
    latency_ms = (0.0, 0.0, 0.0)
    if requests:
        smallest = float(row["latency_min"])
        # The histogram from the smallest latency's bucket to the largest's (see the SQL).
        latency_ms = latency_percentiles(
            row["latency_histogram"], smallest, float(row["latency_max"]), latency_bucket(smallest)
        )
    return GroupRow(
        level=level,
        bucket=None if row["bucket_us"] is None else int(row["bucket_us"]),
        key=row["target"] if level == "target" else "",
        requests=requests,
        errors=int(row["errors"]),
        failovers=int(row["failovers"]),
        cached=int(row["cached"]),
        latency_ms=latency_ms,
    )


def door_row(row: Row) -> GroupRow:
    return GroupRow(
        level="door",
        bucket=int(row["bucket_us"]),
        key=row["door"],
        requests=int(row["requests"]),
        errors=0,
        failovers=0,
        cached=0,
        latency_ms=(0.0, 0.0, 0.0),
    )


def count_row(row: Row) -> CountRow:
    return CountRow(
        dimension=cast(Dimension, row["dimension"]),
        key=row["key"],
        detail=row["detail"],
        count=int(row["count"]),
    )


def decision_row(row: Row) -> Decision:
    attempts = row["attempts"]
    if isinstance(attempts, str):  # asyncpg hands jsonb over as text
        attempts = json.loads(attempts)
    return Decision(
        request_id=row["request_id"],
        time=from_micros(int(row["time_us"])),
        door=row["door"],
        method=row["method"],
        operation=row["operation"],
        tool_or_method=row["tool_or_method"],
        target=row["target"],
        rule=row["rule"] or "",
        reason=row["reason"] or "",
        confidence=float(row["confidence"] or 0.0),
        outcome=row["outcome"],
        status_code=row["status_code"],
        latency_ms=float(row["latency_ms"]),
        cached=bool(row["cached"]),
        failover=bool(row["failover"]),
        attempts=tuple(
            DecisionAttempt(
                target=str(a.get("target", "")),
                outcome=str(a.get("outcome", "")),
                latency_ms=float(a.get("latency_ms") or 0.0),
                error=str(a.get("error") or ""),
            )
            for a in attempts
        ),
        key_id=row["api_key_id"] or "",
    )
