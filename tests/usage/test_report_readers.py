"""The SQL Usage readers' edges: Supabase's wire calls, and a database that cannot answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.usage.postgres_reader import PostgresReader
from coordinator.usage.report import UsageFilter, UsageQuery
from coordinator.usage.supabase_reader import SupabaseReader
from tests.support.mcp_servers import free_port
from tests.usage.conftest import DSN, dsn_via, upstream
from tests.usage.fake_postgrest import Failure, FakePostgrest
from tests.usage.tcp_proxy import TcpProxy

SERVICE_ROLE_KEY = "service-role-key-for-tests"
END = datetime(2026, 11, 30, 12, 1, tzinfo=UTC)
QUERY = UsageQuery(
    start=END - timedelta(hours=1),
    end=END,
    bucket_seconds=60,
    filter=UsageFilter(door="grpc"),
    page_size=10,
)


@pytest.fixture
async def postgrest(schema: str) -> AsyncIterator[FakePostgrest]:
    async with FakePostgrest(DSN, schema) as fake:
        yield fake


async def test_supabase_asks_for_the_report_in_one_postgrest_rpc_call(
    postgrest: FakePostgrest,
) -> None:
    async with SupabaseReader(postgrest.url, SERVICE_ROLE_KEY, schema=postgrest.schema) as reader:
        report = await reader.report(QUERY)

    assert report.source == "supabase"
    assert report.recent == ()
    # One call: one JSON value, which PostgREST's row limit (db-max-rows) cannot cut.
    [call] = postgrest.requests
    assert call.path == "/rest/v1/rpc/usage_report_json"
    assert call.method == "POST"
    assert call.headers["apikey"] == SERVICE_ROLE_KEY
    assert call.headers["content-profile"] == postgrest.schema
    assert call.body == {
        "p_start": "2026-11-30T11:01:00+00:00",
        "p_end": "2026-11-30T12:01:00+00:00",
        "p_bucket_seconds": 60,
        "p_target": None,
        "p_door": "grpc",
        "p_key_id": None,
        "p_outcome": None,
        "p_request_id": None,
        "p_limit": 11,
        "p_before_time": None,
        "p_before_request_id": None,
        "p_recent_only": False,
    }


async def test_supabase_refusing_the_query_is_unavailable_with_its_reason(
    postgrest: FakePostgrest,
) -> None:
    postgrest.failure = Failure(503, "PGRST000", "Database client error. Retrying the connection.")
    async with SupabaseReader(postgrest.url, SERVICE_ROLE_KEY, schema=postgrest.schema) as reader:
        with pytest.raises(CoordinatorError) as raised:
            await reader.report(QUERY)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert raised.value.message.startswith("Supabase refused the usage query: PGRST000")


async def test_unreachable_supabase_is_unavailable() -> None:
    async with SupabaseReader(
        f"http://127.0.0.1:{free_port()}", SERVICE_ROLE_KEY, timeout=2
    ) as reader:
        with pytest.raises(CoordinatorError) as raised:
            await reader.report(QUERY)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert raised.value.message.startswith("Supabase unavailable: ConnectError")


async def test_a_postgres_outage_is_unavailable_and_the_reader_recovers(schema: str) -> None:
    async with (
        TcpProxy(*upstream()) as proxy,
        PostgresReader(dsn_via(proxy.port), schema=schema, connect_timeout=2) as reader,
    ):
        assert (await reader.report(QUERY)).source == "postgres"
        proxy.refuse()
        with pytest.raises(CoordinatorError) as raised:
            await reader.report(QUERY)
        assert raised.value.code is ErrorCode.UNAVAILABLE
        assert raised.value.message.startswith("usage database unavailable: ")
        proxy.restore()
        assert (await reader.report(QUERY)).source == "postgres"


async def test_a_schema_without_the_report_functions_says_so(schema: str) -> None:
    async with PostgresReader(DSN, schema=f"{schema}_missing") as reader:
        with pytest.raises(CoordinatorError) as raised:
            await reader.report(QUERY)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert "usage_" in raised.value.message
    assert "does not exist" in raised.value.message


async def test_supabase_without_the_report_functions_says_to_migrate(schema: str) -> None:
    async with (
        FakePostgrest(DSN, f"{schema}_missing") as bare,
        SupabaseReader(bare.url, SERVICE_ROLE_KEY, schema=bare.schema) as reader,
    ):
        with pytest.raises(CoordinatorError) as raised:
            await reader.report(QUERY)
    assert raised.value.code is ErrorCode.UNAVAILABLE
    assert raised.value.message.startswith(
        "Supabase has no usage report functions: run `mcp-coordinator migrate --database-url"
    )
