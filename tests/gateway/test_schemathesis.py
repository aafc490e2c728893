"""schemathesis against the document a live gateway serves: no 5xx, and
every response matches the document (status, content type, headers, schema).

`Fail` is left out: failing on request, 5xx included, is its whole purpose.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from .live import serve_in_thread

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 15
NEGATIVE_EXAMPLES_PER_OPERATION = 8


def _operations(schema: BaseSchema) -> list[APIOperation[Any, Any, Any, Any]]:
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"schemathesis cannot use an operation: {result.err()!r}")
        operations.append(result.ok())
    return operations


@pytest.mark.slow
def test_every_operation_conforms_to_the_served_document(app: Starlette) -> None:
    with serve_in_thread(app) as base_url:
        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
        operations = _operations(schema)
        checked = [op for op in operations if not op.path.startswith("/v1/fail")]
        assert len(checked) == len(operations) - 1 == 16

        for operation in checked:

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                response = case.call(base_url=base_url, headers={"X-API-Key": "k"}, timeout=10)
                case.validate_response(response, checks=CHECKS)

            check()


@pytest.mark.slow
def test_invalid_input_never_gets_a_server_error(app: Starlette) -> None:
    with serve_in_thread(app) as base_url:
        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
        for operation in _operations(schema):
            if operation.path.startswith("/v1/fail"):
                continue

            @settings(
                max_examples=NEGATIVE_EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
            def check(case: Any) -> None:
                response = case.call(base_url=base_url, headers={"X-API-Key": "k"}, timeout=10)
                case.validate_response(response, checks=[not_a_server_error])
                assert response.headers["content-type"] == ["application/json"]

            check()
