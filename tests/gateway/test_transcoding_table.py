"""Request -> expected message cases, ported from the reference transcoders.

Sources, named in each case id:
  http.proto  - the examples of google/api/http.proto (HttpRule documentation)
  gateway     - grpc-gateway v2 integration tests (ABitOfEverything echo,
                path escaping, query parameters, body field, additional bindings)
  envoy       - Envoy's gRPC-JSON transcoder tests (multi-segment `**`,
                percent-decoding rules, custom verbs, body field + query)
Every case goes through the real ASGI stack and compares the message the
handler received with the expected one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from google.protobuf import (
    duration_pb2,
    field_mask_pb2,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.message import Message
from transcodingtest.v1 import transcoding_pb2 as pb

from .service import RecordingService

_SERVICE = "/transcodingtest.v1.TranscodingService/"


@dataclass(frozen=True)
class Case:
    id: str
    http_method: str
    url: str
    expected_method: str
    expected: Message
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _list_value(values: list[Any]) -> struct_pb2.ListValue:
    list_value = struct_pb2.ListValue()
    list_value.extend(values)
    return list_value


def _timestamp(text: str) -> timestamp_pb2.Timestamp:
    timestamp = timestamp_pb2.Timestamp()
    timestamp.FromJsonString(text)
    return timestamp


CASES = [
    Case(
        "http.proto-path-variable",
        "GET",
        "/v1/messages/123456",
        "GetMessage",
        pb.GetMessageRequest(name="messages/123456"),
    ),
    Case(
        "http.proto-query-nested-field",
        "GET",
        "/v1/messages/123456?revision=2&sub.subfield=foo",
        "GetMessage",
        pb.GetMessageRequest(name="messages/123456", revision=2, sub=pb.SubMessage(subfield="foo")),
    ),
    Case(
        "http.proto-additional-binding",
        "GET",
        "/v1/users/me/messages/123456",
        "GetMessage",
        pb.GetMessageRequest(user_id="me", message_id="123456"),
    ),
    Case(
        "http.proto-patch-body-field-nested-path-variable",
        "PATCH",
        "/v1/shelves/1/books/2",
        "UpdateBook",
        pb.UpdateBookRequest(book=pb.Book(name="shelves/1/books/2", title="Hi!")),
        json={"title": "Hi!"},
    ),
    Case(
        "http.proto-body-star-custom-verb",
        "POST",
        "/v1/shelves/1/books/2:move",
        "MoveBook",
        pb.MoveBookRequest(name="shelves/1/books/2", other_shelf_name="shelves/9"),
        json={"other_shelf_name": "shelves/9"},
    ),
    Case(
        "http.proto-delete-no-body",
        "DELETE",
        "/v1/shelves/1/books/2",
        "DeleteBook",
        pb.DeleteBookRequest(name="shelves/1/books/2"),
    ),
    Case(
        "gateway-body-field-plus-query",
        "POST",
        "/v1/shelves/7/books?book_id=dune",
        "CreateBook",
        pb.CreateBookRequest(
            parent="shelves/7", book_id="dune", book=pb.Book(title="Dune", author_name="Herbert")
        ),
        json={"title": "Dune", "authorName": "Herbert"},
    ),
    Case(
        "gateway-abe-echo-json-names",
        "POST",
        "/v1/echo",
        "Echo",
        pb.Everything(
            string_value="s",
            int32_value=-5,
            int64_value=9007199254740993,
            uint32_value=4294967295,
            uint64_value=18446744073709551615,
            sint32_value=-7,
            fixed64_value=12,
            float_value=1.5,
            double_value=-2.25,
            bool_value=True,
            bytes_value=b"\x00\xff",
            enum_value=pb.GENRE_SCIENCE,
            nested=pb.Nested(name="n", amount=3),
            nested_list=[pb.Nested(name="a"), pb.Nested(name="b")],
            string_list=["x", "y"],
            choice_number=4,
        ),
        json={
            "stringValue": "s",
            "int32Value": -5,
            "int64Value": "9007199254740993",
            "uint32Value": 4294967295,
            "uint64Value": "18446744073709551615",
            "sint32Value": -7,
            "fixed64Value": 12,
            "floatValue": 1.5,
            "doubleValue": -2.25,
            "boolValue": True,
            "bytesValue": "AP8=",
            "enumValue": "GENRE_SCIENCE",
            "nested": {"name": "n", "amount": 3},
            "nestedList": [{"name": "a"}, {"name": "b"}],
            "stringList": ["x", "y"],
            "choiceNumber": 4,
        },
    ),
    Case(
        "gateway-abe-echo-proto-names-and-well-known-types",
        "POST",
        "/v1/echo",
        "Echo",
        pb.Everything(
            string_map={"k": "v"},
            nested_map={1: pb.Nested(name="one"), -2: pb.Nested(amount=2)},
            struct_value=_struct({"a": [1, "two", None, True], "b": {"c": 1.5}}),
            any_json=struct_pb2.Value(string_value="just text"),
            list_json=_list_value([1, {"x": None}]),
            timestamp_value=_timestamp("2024-02-29T12:30:00.5Z"),
            duration_value=duration_pb2.Duration(seconds=3, nanos=500_000_000),
            optional_int32=0,
            choice_text="picked",
        ),
        json={
            "string_map": {"k": "v"},
            "nested_map": {"1": {"name": "one"}, "-2": {"amount": 2}},
            "struct_value": {"a": [1, "two", None, True], "b": {"c": 1.5}},
            "any_json": "just text",
            "list_json": [1, {"x": None}],
            "timestamp_value": "2024-02-29T12:30:00.500Z",
            "duration_value": "3.5s",
            "optional_int32": 0,
            "choice_text": "picked",
        },
    ),
    Case(
        "gateway-wrappers-in-body",
        "POST",
        "/v1/echo",
        "Echo",
        pb.Everything(
            wrapped_string=wrappers_pb2.StringValue(value=""),
            wrapped_int64=wrappers_pb2.Int64Value(value=-3),
        ),
        json={"wrapped_string": "", "wrapped_int64": "-3"},
    ),
    Case(
        "gateway-path-escape-single-segment",
        "GET",
        "/v1/echo/hello%20world%2Fand%3Fmore",
        "Echo",
        pb.Everything(string_value="hello world/and?more"),
    ),
    Case(
        "gateway-path-non-ascii",
        "GET",
        "/v1/echo/caf%C3%A9",
        "Echo",
        pb.Everything(string_value="café"),
    ),
    Case(
        "gateway-additional-binding-body-field-struct",
        "PUT",
        "/v1/echo/7/nested-name",
        "Echo",
        pb.Everything(
            int64_value=7,
            nested=pb.Nested(name="nested-name"),
            struct_value=_struct({"k": [1, 2]}),
        ),
        json={"k": [1, 2]},
    ),
    Case(
        "gateway-query-repeated-keys",
        "GET",
        "/v1/shelves/1/books?tags=a&tags=b&years=1999&years=2024",
        "ListBooks",
        pb.ListBooksRequest(parent="shelves/1", tags=["a", "b"], years=[1999, 2024]),
    ),
    Case(
        "gateway-query-enums-by-name-and-number",
        "GET",
        "/v1/shelves/1/books?genre=GENRE_SCIENCE&genres=1&genres=GENRE_HISTORY",
        "ListBooks",
        pb.ListBooksRequest(
            parent="shelves/1",
            genre=pb.GENRE_SCIENCE,
            genres=[pb.GENRE_FICTION, pb.GENRE_HISTORY],
        ),
    ),
    Case(
        "gateway-query-wrappers",
        "GET",
        "/v1/shelves/1/books?min_pages=0&in_print=false",
        "ListBooks",
        pb.ListBooksRequest(
            parent="shelves/1",
            min_pages=wrappers_pb2.Int32Value(value=0),
            in_print=wrappers_pb2.BoolValue(value=False),
        ),
    ),
    Case(
        "gateway-query-struct-and-value-as-json",
        "GET",
        "/v1/shelves/1/books?labels=%7B%22team%22%3A%22core%22%2C%22n%22%3A1%7D"
        "&extra=%5B1%2C%22x%22%5D",
        "ListBooks",
        pb.ListBooksRequest(
            parent="shelves/1",
            labels=_struct({"team": "core", "n": 1}),
            extra=struct_pb2.Value(list_value=_list_value([1, "x"])),
        ),
    ),
    Case(
        "gateway-query-timestamp-duration-fieldmask",
        "GET",
        "/v1/shelves/1/books?since=2020-01-01T00:00:00Z&max_age=3.5s&read_mask=title,authorName",
        "ListBooks",
        pb.ListBooksRequest(
            parent="shelves/1",
            since=_timestamp("2020-01-01T00:00:00Z"),
            max_age=duration_pb2.Duration(seconds=3, nanos=500_000_000),
            read_mask=field_mask_pb2.FieldMask(paths=["title", "author_name"]),
        ),
    ),
    Case(
        "gateway-query-nested-message-fields",
        "GET",
        "/v1/shelves/1/books?filter.author=Le%20Guin&filter.pages.min=100&filter.pages.max=300",
        "ListBooks",
        pb.ListBooksRequest(
            parent="shelves/1",
            filter=pb.BookFilter(author="Le Guin", pages=pb.PageRange(min=100, max=300)),
        ),
    ),
    Case(
        "gateway-query-json-names-optional-uint64-bytes-double",
        "GET",
        "/v1/shelves/1/books?pageSize=10&pageToken=abc&language=&maxId=18446744073709551615"
        "&cursor=-_8&minRating=4.5",
        "ListBooks",
        pb.ListBooksRequest(
            parent="shelves/1",
            page_size=10,
            page_token="abc",
            language="",
            max_id=18446744073709551615,
            cursor=b"\xfb\xff",
            min_rating=4.5,
        ),
    ),
    Case(
        "envoy-double-wildcard",
        "GET",
        "/v1/files/a/b/c.txt",
        "GetFile",
        pb.GetFileRequest(path="a/b/c.txt"),
    ),
    Case(
        "envoy-double-wildcard-keeps-encoded-slash-with-verb",
        "GET",
        "/v1/files/dir/a%2Fb%20c:download",
        "GetFile",
        pb.GetFileRequest(path="dir/a%2Fb c"),
    ),
    Case(
        "envoy-double-wildcard-zero-segments",
        "GET",
        "/v1/files",
        "GetFile",
        pb.GetFileRequest(path=""),
    ),
    Case(
        "envoy-multi-segment-variable-keeps-encoded-slash",
        "GET",
        "/v1/shelves/a%2Fb/books/c%20d",
        "GetBook",
        pb.GetBookRequest(name="shelves/a%2Fb/books/c d"),
    ),
    Case(
        "envoy-verb-route-preferred-over-plain",
        "GET",
        "/v1/files/report:download",
        "GetFile",
        pb.GetFileRequest(path="report"),
    ),
    Case(
        "precedence-path-over-body",
        "PATCH",
        "/v1/shelves/1/books/2",
        "UpdateBook",
        pb.UpdateBookRequest(book=pb.Book(name="shelves/1/books/2", title="from body")),
        json={"name": "shelves/9/books/9", "title": "from body"},
    ),
    Case(
        "precedence-body-over-query",
        "POST",
        "/v1/shelves/1/books?book.title=from%20query",
        "CreateBook",
        pb.CreateBookRequest(parent="shelves/1", book=pb.Book(title="from body")),
        json={"title": "from body"},
    ),
    Case(
        "precedence-path-over-query",
        "GET",
        "/v1/shelves/1/books?parent=shelves/2",
        "ListBooks",
        pb.ListBooksRequest(parent="shelves/1"),
    ),
    Case(
        "precedence-body-star-ignores-query-for-known-fields",
        "POST",
        "/v1/echo?string_value=from%20query&int32_value=9",
        "Echo",
        pb.Everything(string_value="from body"),
        json={"string_value": "from body"},
    ),
    Case(
        "empty-body-is-an-empty-message",
        "POST",
        "/v1/echo",
        "Echo",
        pb.Everything(),
    ),
    Case(
        "nulls-leave-fields-unset",
        "POST",
        "/v1/echo",
        "Echo",
        pb.Everything(any_json=struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)),
        json={"nested": None, "string_value": None, "string_list": None, "any_json": None},
    ),
    Case(
        "numbers-as-strings-and-special-floats",
        "POST",
        "/v1/echo",
        "Echo",
        pb.Everything(int32_value=12, uint32_value=7, double_value=float("inf"), float_value=1e10),
        json={
            "int32_value": "12",
            "uint32_value": 7.0,
            "double_value": "Infinity",
            "float_value": "1e10",
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_request_becomes_expected_message(
    client: httpx.AsyncClient, service: RecordingService, case: Case
) -> None:
    response = await client.request(
        case.http_method, case.url, json=case.json, headers=case.headers
    )

    assert response.status_code == 200, response.text
    assert service.last.method == _SERVICE + case.expected_method
    assert service.last.request == case.expected, str(service.last.request)


def test_table_has_at_least_twenty_ported_cases() -> None:
    ported = [c for c in CASES if c.id.split("-")[0] in ("http.proto", "gateway", "envoy")]
    assert len(ported) >= 20


async def test_response_uses_proto_names_and_emits_unpopulated_fields(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/shelves/1/books/2")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "name": "shelves/1/books/2",
        "title": "Dune",
        "author_name": "",
        "genre": "GENRE_UNSPECIFIED",
        "tags": [],
        "pages": "412",
        "metadata": None,
        "published": None,
        "rating": 0.0,
    }


async def test_response_body_field_is_the_whole_response(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/shelfnames")

    assert response.status_code == 200
    assert response.json() == ["shelves/1", "shelves/2"]


async def test_echo_round_trips_every_type(client: httpx.AsyncClient) -> None:
    sent = {
        "string_value": "s",
        "int64_value": "-9007199254740993",
        "uint64_value": "18446744073709551615",
        "float_value": 0.1,
        "double_value": "NaN",
        "bytes_value": "AP8=",
        "enum_value": "GENRE_HISTORY",
        "nested_map": {"3": {"name": "x", "amount": 1}},
        "struct_value": {"deep": {"list": [1, None, "a"]}},
        "any_json": {"k": [True]},
        "list_json": [],
        "wrapped_string": "w",
        "wrapped_int64": "5",
        "timestamp_value": "1970-01-01T00:00:01Z",
        "duration_value": "-1.000000001s",
        "choice_text": "t",
    }

    body = (await client.post("/v1/echo", json=sent)).json()

    assert {k: body[k] for k in sent} == sent
    assert body["optional_int32"] is None
    assert body["nested"] is None
    assert "choice_number" not in body  # unset member of a real oneof is left out
    assert body["int32_value"] == 0
    assert body["string_list"] == []


async def test_head_binding_answers_without_a_body(
    client: httpx.AsyncClient, service: RecordingService
) -> None:
    response = await client.head("/v1/echo?string_value=x")

    assert response.status_code == 200
    assert response.content == b""
    assert service.last.request == pb.Everything(string_value="x")


async def test_method_without_http_option_is_not_exposed(client: httpx.AsyncClient) -> None:
    response = await client.post("/transcodingtest.v1.TranscodingService/Hidden", json={})

    assert response.status_code == 404
