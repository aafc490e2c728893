"""What HTTP headers carry into the call context, and what they do not."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from .service import RecordingService


def assert_deadline_in(
    service: RecordingService, seconds: float, sent: float, answered: float
) -> None:
    """The handler's deadline is `seconds` after a moment while the request was in flight."""
    deadline = service.last.context.deadline
    assert deadline is not None
    assert sent + seconds - 1e-6 <= deadline <= answered + seconds + 1e-6


async def test_api_key_and_grpc_metadata_reach_the_handler_and_nothing_else(
    client: httpx.AsyncClient, service: RecordingService
) -> None:
    response = await client.get(
        "/v1/inspect",
        headers={
            "X-API-Key": "secret",
            "Grpc-Metadata-Tenant": "acme",
            "Authorization": "Bearer t",
            "Cookie": "session=1",
            "X-Forwarded-For": "10.0.0.1",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["metadata"] == {"x-api-key": "secret", "tenant": "acme"}
    assert body["door"] == "http"
    assert body["method"] == "/transcodingtest.v1.TranscodingService/Inspect"
    assert service.last.context.metadata == {"x-api-key": "secret", "tenant": "acme"}


async def test_no_timeout_header_means_no_deadline(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/inspect")).json()

    assert body["time_remaining"] is None


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Grpc-Timeout": "2S"}, 2.0),
        ({"Grpc-Timeout": "1500m"}, 1.5),
        ({"Grpc-Timeout": "1M"}, 60.0),
        ({"Grpc-Timeout": "3000000u"}, 3.0),
        ({"X-Request-Timeout": "750"}, 0.75),
        ({"Grpc-Timeout": "5S", "X-Request-Timeout": "1000"}, 1.0),
    ],
)
async def test_timeout_headers_set_the_deadline(
    client: httpx.AsyncClient, service: RecordingService, headers: dict[str, str], seconds: float
) -> None:
    sent = time.monotonic()
    body = (await client.get("/v1/inspect", headers=headers)).json()
    answered = time.monotonic()

    assert_deadline_in(service, seconds, sent, answered)
    assert 0 <= body["time_remaining"] <= seconds


@pytest.mark.parametrize(
    "headers",
    [
        {"Grpc-Timeout": "5x"},
        {"Grpc-Timeout": "123456789S"},
        {"Grpc-Timeout": "S"},
        {"Grpc-Timeout": "-1S"},
        {"X-Request-Timeout": "soon"},
        {"X-Request-Timeout": "-5"},
    ],
)
async def test_bad_timeout_is_a_400(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/v1/inspect", headers=headers)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    assert next(iter(headers)) in body["message"]


async def test_deadline_expiring_in_the_handler_is_a_504(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/fail", json={"sleep_ms": 5000}, headers={"Grpc-Timeout": "50m"}
    )

    assert response.status_code == 504
    assert response.json()["code"] == 4


async def test_request_id_is_taken_passed_and_returned(
    client: httpx.AsyncClient, service: RecordingService
) -> None:
    response = await client.get("/v1/inspect", headers={"X-Request-Id": "req-42"})

    assert response.headers["x-request-id"] == "req-42"
    assert response.json()["request_id"] == "req-42"
    assert service.last.context.request_id == "req-42"


@pytest.mark.parametrize("given", [None, "x" * 200, "has space"])
async def test_request_id_is_generated_when_missing_or_unusable(
    client: httpx.AsyncClient, service: RecordingService, given: str | None
) -> None:
    headers = {} if given is None else {"X-Request-Id": given}

    response = await client.get("/v1/inspect", headers=headers)

    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert service.last.context.request_id == generated


async def test_request_id_is_returned_on_errors(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nowhere", headers={"X-Request-Id": "lost-1"})

    assert response.status_code == 404
    assert response.headers["x-request-id"] == "lost-1"


@pytest.mark.parametrize(
    ("grpc_timeout", "seconds"),
    [("1H", 3600.0), ("90000000n", 0.09)],
    ids=["hours", "nanoseconds"],
)
async def test_grpc_timeout_hours_and_nanoseconds_set_the_deadline(
    client: httpx.AsyncClient, service: RecordingService, grpc_timeout: str, seconds: float
) -> None:
    sent = time.monotonic()
    body = (await client.get("/v1/inspect", headers={"Grpc-Timeout": grpc_timeout})).json()
    answered = time.monotonic()

    assert_deadline_in(service, seconds, sent, answered)
    assert 0 <= body["time_remaining"] <= seconds


async def test_content_length_that_is_not_a_number_is_a_400(
    client: httpx.AsyncClient, service: RecordingService
) -> None:
    response = await client.get("/v1/inspect", headers={"Content-Length": "ten"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    assert "Content-Length" in body["message"]
    assert service.calls == []


async def test_w3c_trace_context_headers_become_metadata(
    client: httpx.AsyncClient, service: RecordingService
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await client.get(
        "/v1/inspect", headers={"traceparent": traceparent, "tracestate": "vendor=1"}
    )

    assert response.status_code == 200
    assert service.last.context.metadata == {"traceparent": traceparent, "tracestate": "vendor=1"}
