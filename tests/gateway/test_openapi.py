"""The OpenAPI document: generated from the descriptors, served, committed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcpcoordinator.v1 import coordinator_pb2

from coordinator.gateway.openapi import openapi_document

from .service import SERVICE

REPO = Path(__file__).resolve().parents[2]
COORDINATOR = coordinator_pb2.DESCRIPTOR.services_by_name["CoordinatorService"]


def test_coordinator_document_has_the_documented_routes_and_security() -> None:
    document = openapi_document([COORDINATOR])

    assert document["openapi"] == "3.1.0"
    operations = {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == {
        ("/route", "post"),
        ("/aggregate", "post"),
        ("/health", "get"),
        ("/status", "get"),
        ("/usage", "get"),
    }
    assert operations[("/health", "get")]["security"] == []
    for key in [("/route", "post"), ("/aggregate", "post"), ("/status", "get"), ("/usage", "get")]:
        assert operations[key]["security"] == [{"ApiKeyAuth": []}]
    assert document["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    route = operations[("/route", "post")]
    assert route["responses"]["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/google.rpc.Status"
    }


def test_struct_and_value_fields_are_any_json() -> None:
    schemas = openapi_document([COORDINATOR])["components"]["schemas"]

    route_request = schemas["mcpcoordinator.v1.RouteRequest"]["properties"]
    assert route_request["context"] == {
        "type": ["object", "null"],
        "description": "Any JSON object.",
    }
    data = schemas["mcpcoordinator.v1.RouteResponse"]["properties"]["data"]
    assert data == {"description": "Any JSON value."}
    status = schemas["google.rpc.Status"]
    assert set(status["properties"]) == {"code", "message", "details"}


@pytest.mark.slow
def test_committed_document_is_up_to_date() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "coordinator.gateway.openapi"],
        check=True,
        capture_output=True,
        cwd=REPO,
    )

    assert printed.stderr == b""
    assert (REPO / "gen" / "openapi.json").read_bytes() == printed.stdout


def test_output_is_deterministic() -> None:
    first = json.dumps(openapi_document([COORDINATOR]))
    second = json.dumps(openapi_document([COORDINATOR]))

    assert first == second


def _operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def test_templates_become_one_segment_parameters() -> None:
    document = openapi_document([SERVICE])

    get_book = _operation(document, "/v1/shelves/{name_1}/books/{name_2}", "get")
    assert [p["name"] for p in get_book["parameters"]] == ["name_1", "name_2"]
    move = _operation(document, "/v1/shelves/{name_1}/books/{name_2}:move", "post")
    assert "requestBody" in move
    echo = _operation(document, "/v1/echo/{int64_value}/{nested_name}", "put")
    assert echo["requestBody"]["content"]["application/json"]["schema"] == {
        "type": ["object", "null"],
        "description": "Any JSON object.",
    }
    assert "head" in document["paths"]["/v1/echo"]


def test_query_parameters_cover_unbound_fields() -> None:
    document = openapi_document([SERVICE])

    list_books = _operation(document, "/v1/shelves/{parent_1}/books", "get")
    names = {p["name"] for p in list_books["parameters"] if p["in"] == "query"}
    assert {"page_size", "tags", "genre", "filter.author", "filter.pages.min", "labels"} <= names
    assert "parent" not in names
    create = _operation(document, "/v1/shelves/{parent_1}/books", "post")
    assert {p["name"] for p in create["parameters"] if p["in"] == "query"} == {"book_id"}


async def test_gateway_serves_the_document_of_its_services(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert response.json() == openapi_document([SERVICE])
