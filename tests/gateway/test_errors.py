"""Every failure is a google.rpc.Status body with the HTTP status of the table,
and no bad input produces a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from coordinator.errors import ERROR_TABLE, CoordinatorError, ErrorCode
from coordinator.gateway import render_error

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def _assert_status_body(response: httpx.Response, code: ErrorCode) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code.value
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize("code", list(ErrorCode), ids=[c.name for c in ErrorCode])
async def test_handler_error_maps_through_the_error_table(
    client: httpx.AsyncClient, code: ErrorCode
) -> None:
    response = await client.post("/v1/fail", json={"code": code.value, "message": "it failed"})

    assert response.status_code == ERROR_TABLE[code].http_status
    body = _assert_status_body(response, code)
    assert body["message"] == "it failed"
    assert ("www-authenticate" in response.headers) == (code is ErrorCode.UNAUTHENTICATED)


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        (ErrorCode.INVALID_ARGUMENT, 400),
        (ErrorCode.UNAUTHENTICATED, 401),
        (ErrorCode.PERMISSION_DENIED, 403),
        (ErrorCode.NOT_FOUND, 404),
        (ErrorCode.RESOURCE_EXHAUSTED, 429),
        (ErrorCode.UNAVAILABLE, 503),
        (ErrorCode.DEADLINE_EXCEEDED, 504),
    ],
)
async def test_grpc_gateway_statuses(
    client: httpx.AsyncClient, code: ErrorCode, http_status: int
) -> None:
    response = await client.post("/v1/fail", json={"code": code.value, "message": "x"})

    assert response.status_code == http_status


async def test_unauthenticated_asks_for_the_api_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/fail", json={"code": 16, "message": "missing API key"})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'


async def test_field_error_carries_a_bad_request_detail(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/fail", json={"code": 3, "message": "query: must not be empty", "field": "query"}
    )

    body = _assert_status_body(response, ErrorCode.INVALID_ARGUMENT)
    [detail] = body["details"]
    assert detail["@type"] == BAD_REQUEST
    [violation] = detail["field_violations"]
    assert violation["field"] == "query"
    assert violation["description"] == "query: must not be empty"


async def test_handler_bug_is_a_500_without_its_text(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/fail", json={"crash": True})

    assert response.status_code == 500
    body = _assert_status_body(response, ErrorCode.INTERNAL)
    assert body["message"] == "internal error"
    assert "handler bug" not in response.text


BAD_BODIES = [
    pytest.param(b"{bad", "line 1 column 2", "body", id="malformed-json"),
    pytest.param(
        b'{"string_value": "a",}',
        "trailing comma is not allowed at line 1 column 21",
        "body",
        id="trailing-comma",
    ),
    pytest.param(b"[1, 2]", "expected a JSON object", "body", id="array-for-message"),
    pytest.param(b'{"int32_value": "abc"}', "int32_value", "int32_value", id="string-for-int"),
    pytest.param(b'{"int32_value": 2147483648}', "out of range", "int32_value", id="int-range"),
    pytest.param(b'{"int32_value": 1.5}', "expected an integer", "int32_value", id="fraction"),
    pytest.param(b'{"bool_value": "yes"}', "true or false", "bool_value", id="bool"),
    pytest.param(b'{"string_value": 5}', "expected a string", "string_value", id="int-for-str"),
    pytest.param(b'{"enum_value": "GENRE_NOPE"}', "GENRE_NOPE", "enum_value", id="enum-name"),
    pytest.param(b'{"bytes_value": "!!"}', "base64", "bytes_value", id="bytes"),
    pytest.param(b'{"nope": 1}', "unknown field", "nope", id="unknown-field"),
    pytest.param(
        b'{"nested": {"nope": 1}}', "unknown field", "nested.nope", id="unknown-nested-field"
    ),
    pytest.param(
        b'{"nested_list": [{}, {"amount": -1}]}',
        "out of range",
        "nested_list[1].amount",
        id="list-position",
    ),
    pytest.param(
        b'{"nested_map": {"x": {}}}', "expected an integer", 'nested_map["x"]', id="map-key"
    ),
    pytest.param(b'{"string_list": ["a", null]}', "null", "string_list[1]", id="null-in-list"),
    pytest.param(
        b'{"choice_text": "a", "choice_number": 1}', "oneof", "choice_number", id="two-of-oneof"
    ),
    pytest.param(
        b'{"stringValue": "a", "string_value": "b"}', "twice", "string_value", id="both-names"
    ),
    pytest.param(b'{"double_value": NaN}', "column 18", "body", id="nan-literal"),
    pytest.param(b'{"timestamp_value": "yesterday"}', "", "timestamp_value", id="timestamp"),
    pytest.param(b'{"struct_value": [1]}', "JSON object", "struct_value", id="struct-not-object"),
    pytest.param(b"\xff\xfe{}", "UTF-8", "body", id="not-utf8"),
]


@pytest.mark.parametrize(("body", "message_part", "field"), BAD_BODIES)
async def test_bad_body_is_a_400_naming_the_field_or_position(
    client: httpx.AsyncClient, body: bytes, message_part: str, field: str
) -> None:
    response = await client.post(
        "/v1/echo", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400, response.text
    payload = _assert_status_body(response, ErrorCode.INVALID_ARGUMENT)
    assert payload["message"].startswith(f"{field}: ")
    assert message_part in payload["message"]
    violation = payload["details"][0]["field_violations"][0]
    assert violation["field"] == field


async def test_deeply_nested_json_under_the_limit_is_a_400(
    large_client: httpx.AsyncClient,
) -> None:
    body = b'{"any_json": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"

    response = await large_client.post(
        "/v1/echo", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    _assert_status_body(response, ErrorCode.INVALID_ARGUMENT)


BAD_QUERIES = [
    pytest.param("nope=1", "nope", "unknown query parameter", id="unknown-parameter"),
    pytest.param("page_size=ten", "page_size", "expected an integer", id="not-an-int"),
    pytest.param("page_size=1&page_size=2", "page_size", "more than once", id="repeated"),
    pytest.param("genre=GENRE_NOPE", "genre", "GENRE_NOPE", id="enum"),
    pytest.param("labels=%7Bbad", "labels", "malformed JSON", id="struct-json"),
    pytest.param("filter=x", "filter", "message", id="message-field"),
    pytest.param("tags.x=1", "tags.x", "cannot be set", id="through-repeated"),
    pytest.param("since=never", "since", "", id="timestamp"),
    pytest.param("min_pages=1.5", "min_pages", "expected an integer", id="wrapper"),
    pytest.param("in_print=maybe", "in_print", "true or false", id="bool"),
]


@pytest.mark.parametrize(("query", "field", "message_part"), BAD_QUERIES)
async def test_bad_query_is_a_400_naming_the_parameter(
    client: httpx.AsyncClient, query: str, field: str, message_part: str
) -> None:
    response = await client.get(f"/v1/shelves/1/books?{query}")

    assert response.status_code == 400, response.text
    payload = _assert_status_body(response, ErrorCode.INVALID_ARGUMENT)
    assert payload["message"].startswith(f"{field}: ")
    assert message_part in payload["message"]


async def test_bad_path_variable_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/echo/not-a-number/x", json={})

    assert response.status_code == 400
    payload = _assert_status_body(response, ErrorCode.INVALID_ARGUMENT)
    assert payload["message"].startswith("int64_value: ")


async def test_path_that_is_not_utf8_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/echo/%FF")

    assert response.status_code == 400
    _assert_status_body(response, ErrorCode.INVALID_ARGUMENT)


async def test_unknown_path_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/nothing/here")

    assert response.status_code == 404
    body = _assert_status_body(response, ErrorCode.NOT_FOUND)
    assert "/v2/nothing/here" in body["message"]


async def test_known_path_with_wrong_method_is_a_405_with_allow(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/v1/echo")

    assert response.status_code == 405
    assert response.headers["allow"] == "HEAD, POST"
    _assert_status_body(response, ErrorCode.UNIMPLEMENTED)


async def test_405_lists_every_method_of_a_templated_path(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/shelves/1/books/2")

    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH"


async def test_head_is_served_by_the_get_binding(client: httpx.AsyncClient) -> None:
    response = await client.head("/v1/shelves/1/books/2")

    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


async def test_body_over_the_limit_is_a_413_from_content_length(
    client: httpx.AsyncClient, service: Any
) -> None:
    response = await client.post(
        "/v1/echo", content=b" " * 5000, headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    _assert_status_body(response, ErrorCode.RESOURCE_EXHAUSTED)
    assert service.calls == []


async def test_streamed_body_over_the_limit_stops_reading_early(app: Any) -> None:
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b" " * 1024, "more_body": received < 100}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/echo",
        "raw_path": b"/v1/echo",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],  # no Content-Length: chunked
        "server": ("test", 80),
        "client": ("test", 1),
    }
    await app(scope, receive, send)

    assert sent[0]["status"] == 413
    assert received == 5  # 4 KiB limit: the fifth 1 KiB chunk crosses it


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
async def test_wrong_content_type_is_a_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post("/v1/echo", content=b"{}", headers={"content-type": content_type})

    assert response.status_code == 415
    _assert_status_body(response, ErrorCode.INVALID_ARGUMENT)


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=UTF-8", "application/ld+json"]
)
async def test_json_content_types_are_accepted(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post("/v1/echo", content=b"{}", headers={"content-type": content_type})

    assert response.status_code == 200


def test_render_error_is_reusable_outside_the_gateway() -> None:
    rendered = render_error(CoordinatorError(ErrorCode.UNAUTHENTICATED, "no key"), request_id="abc")

    assert rendered.status == 401
    assert (b"www-authenticate", b'ApiKey header="X-API-Key"') in rendered.headers
    assert (b"x-request-id", b"abc") in rendered.headers
    response = rendered.to_response()
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'
    assert response.body == b'{"code":16,"message":"no key","details":[]}'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"double_value": 1e400}', "body"),
        (b'{"double_value": ' + b"9" * 400 + b"}", "body"),
        (b'{"struct_value": {"a": ' + b"9" * 400 + b"}}", "body"),
        (b'{"int64_value": 100000000000000000000}', "int64_value"),
        (b'{"int32_value": 1e300}', "int32_value"),
        (b'{"any_json": 1e999}', "body"),
    ],
)
async def test_numbers_out_of_any_range_are_a_400(
    client: httpx.AsyncClient, body: bytes, field: str
) -> None:
    response = await client.post(
        "/v1/echo", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(f"{field}: ")


async def test_integer_with_too_many_digits_is_a_400(large_client: httpx.AsyncClient) -> None:
    body = b'{"int64_value": ' + b"9" * 5000 + b"}"

    response = await large_client.post(
        "/v1/echo", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["message"].startswith("body: ")


async def test_post_to_the_openapi_document_is_a_405_allowing_get_and_head(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/openapi.json", json={})

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    body = _assert_status_body(response, ErrorCode.UNIMPLEMENTED)
    assert "/openapi.json" in body["message"]
