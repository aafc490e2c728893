"""OpenAPI 3.1 document generated from the same descriptors as the routes.

Schemas describe the JSON the gateway actually speaks: proto field names,
64-bit integers as strings, unset message fields as null, Struct and Value as
any JSON, and every error as a google.rpc.Status. Run as a module to print the
document of the coordinator's own service (scripts/generate.sh writes it to
gen/openapi.json).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

from coordinator import __version__

from .jsonmap import (
    INT32_TYPES,
    INT64_TYPES,
    JSON_TEXT_TYPES,
    UINT32_TYPES,
    UINT64_TYPES,
    WRAPPER_TYPES,
    enum_type_of,
    is_map_field,
    is_synthetic_oneof,
    message_type_of,
)
from .routes import HttpBinding, http_bindings
from .templates import PathTemplate

Schema = dict[str, Any]
_F = FieldDescriptor
_MAX_QUERY_DEPTH = 3
_SECURITY_SCHEME = "ApiKeyAuth"
_STATUS = "google.rpc.Status"
_ANY = "google.protobuf.Any"

_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Struct": {"type": "object", "description": "Any JSON object."},
    "google.protobuf.Value": {"description": "Any JSON value."},
    "google.protobuf.ListValue": {"type": "array", "description": "Any JSON array."},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string", "description": "Comma-separated paths."},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
}
_STATUS_SCHEMAS: dict[str, Schema] = {
    _STATUS: {
        "type": "object",
        "description": "google.rpc.Status: every error body.",
        "properties": {
            "code": {"type": "integer", "format": "int32", "description": "google.rpc.Code"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": {"$ref": f"#/components/schemas/{_ANY}"}},
        },
        "required": ["code", "message"],
    },
    _ANY: {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    if "type" not in schema:
        return schema  # any JSON value, null included
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if "null" in types:
        return schema
    return {**schema, "type": [*types, "null"]}


class _SchemaBuilder:
    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}

    def add_status(self) -> None:
        for name, schema in _STATUS_SCHEMAS.items():
            self.schemas.setdefault(name, schema)

    def scalar(self, field: FieldDescriptor) -> Schema:
        field_type = field.type
        if field_type in INT32_TYPES:
            return {"type": "integer", "format": "int32"}
        if field_type in UINT32_TYPES:
            return {"type": "integer", "format": "uint32", "minimum": 0, "maximum": 2**32 - 1}
        if field_type in INT64_TYPES:
            return {"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,18}$"}
        if field_type in UINT64_TYPES:
            return {"type": "string", "format": "uint64", "pattern": "^[0-9]{1,19}$"}
        if field_type == _F.TYPE_DOUBLE:
            return {"type": "number", "format": "double"}
        if field_type == _F.TYPE_FLOAT:
            return {
                "type": "number",
                "format": "float",
                "minimum": -3.4e38,
                "maximum": 3.4e38,
            }
        if field_type == _F.TYPE_BOOL:
            return {"type": "boolean"}
        if field_type == _F.TYPE_STRING:
            return {"type": "string"}
        if field_type == _F.TYPE_BYTES:
            return {"type": "string", "format": "byte", "contentEncoding": "base64"}
        if field_type == _F.TYPE_ENUM:
            return self.enum(enum_type_of(field))
        raise TypeError(field.full_name)

    def enum(self, enum: EnumDescriptor) -> Schema:
        if enum.full_name not in self.schemas:
            self.schemas[enum.full_name] = {
                "type": "string",
                "enum": [v.name for v in enum.values],
            }
        return _ref(enum.full_name)

    def message(self, descriptor: Descriptor) -> Schema:
        name = descriptor.full_name
        if name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[name])
        if name in WRAPPER_TYPES:
            return self.scalar(descriptor.fields_by_name["value"])
        if name in _STATUS_SCHEMAS:
            self.schemas.setdefault(name, _STATUS_SCHEMAS[name])
            return _ref(name)
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: recursion
            properties = {f.name: self.field(f) for f in descriptor.fields}
            self.schemas[name] = {
                "type": "object",
                "properties": properties,
                "additionalProperties": False,
            }
        return _ref(name)

    def field(self, field: FieldDescriptor) -> Schema:
        if is_map_field(field):
            value_field = message_type_of(field).fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.single(value_field)}
        if field.is_repeated:
            return {"type": "array", "items": self.single(field)}
        schema = self.single(field)
        real_oneof = field.containing_oneof is not None and not is_synthetic_oneof(field)
        if field.has_presence and not real_oneof:
            return _nullable(schema)
        return schema

    def single(self, field: FieldDescriptor) -> Schema:
        if field.type == _F.TYPE_MESSAGE:
            schema = self.message(message_type_of(field))
            full_name = message_type_of(field).full_name
            if full_name in WRAPPER_TYPES:
                return _nullable(schema)  # wrappers: null means unset
            return schema
        return self.scalar(field)


def openapi_path(template: PathTemplate) -> tuple[str, list[tuple[str, str | None]]]:
    """The OpenAPI path of a template and its parameters as (name, field path).

    A variable over one `*` becomes `{field_path}` (dots become underscores:
    tools expand `{a.b}` as attribute access); a variable over several segments
    keeps its literals and names each wildcard `{field_path_N}` (OpenAPI
    parameters hold one segment), the field path being None then.
    """
    pieces: list[str] = []
    parameters: list[tuple[str, str | None]] = []
    by_start = {v.start: v for v in template.variables}
    index = 0
    wildcard = 0
    while index < len(template.segments):
        variable = by_start.get(index)
        if variable is not None and not variable.multi_segment:
            name = "_".join(variable.field_path)
            pieces.append("{" + name + "}")
            parameters.append((name, ".".join(variable.field_path)))
            index = variable.end
            continue
        stem = "_".join(variable.field_path) if variable is not None else "wildcard"
        end = variable.end if variable is not None else index + 1
        for segment in template.segments[index:end]:
            if segment.kind == "literal":
                pieces.append(segment.literal)
            else:
                wildcard += 1
                name = f"{stem}_{wildcard}"
                pieces.append("{" + name + "}")
                parameters.append((name, None))
        index = end
    path = "/" + "/".join(pieces)
    if template.verb:
        path += ":" + template.verb
    return path, parameters


def _non_null(schema: Schema) -> Schema:
    """The schema without the null that `_nullable` added."""
    if "anyOf" in schema:
        first: Schema = schema["anyOf"][0]
        return first
    if isinstance(schema.get("type"), list):
        return {**schema, "type": schema["type"][0]}
    return schema


def _path_parameter(
    builder: _SchemaBuilder, method: MethodDescriptor, name: str, field_path: str | None
) -> Schema:
    schema: Schema = {"type": "string", "pattern": "^[^/]+$"}
    if field_path is not None:
        field = _resolve(method.input_type, field_path.split("."))
        if field is not None:
            schema = _non_null(builder.single(field))
            if schema.get("type") == "string" and "pattern" not in schema:
                schema = {**schema, "pattern": "^[^/]+$"}
    parameter: Schema = {"name": name, "in": "path", "required": True, "schema": schema}
    parameter["description"] = (
        f"Field {field_path}." if field_path is not None else "One segment of a path variable."
    )
    return parameter


def _resolve(descriptor: Descriptor, names: Sequence[str]) -> FieldDescriptor | None:
    field: FieldDescriptor | None = None
    current: Descriptor | None = descriptor
    for name in names:
        if current is None:
            return None
        field = current.fields_by_name.get(name)
        if field is None:
            return None
        current = message_type_of(field) if field.type == _F.TYPE_MESSAGE else None
    return field


def _query_parameters(
    builder: _SchemaBuilder, descriptor: Descriptor, bound: set[str]
) -> list[Schema]:
    parameters: list[Schema] = []

    def visit(message: Descriptor, prefix: str, depth: int, chain: tuple[str, ...]) -> None:
        for field in message.fields:
            name = prefix + field.name
            if name in bound or is_map_field(field):
                continue
            if field.type == _F.TYPE_MESSAGE:
                full_name = message_type_of(field).full_name
                if full_name in JSON_TEXT_TYPES:
                    if not field.is_repeated:
                        parameters.append(
                            {
                                "name": name,
                                "in": "query",
                                "content": {
                                    "application/json": {
                                        "schema": builder.message(message_type_of(field))
                                    }
                                },
                            }
                        )
                    continue
                if full_name.startswith("google.protobuf."):
                    schema = _non_null(builder.single(field))
                    if field.is_repeated:
                        schema = {"type": "array", "items": schema}
                    parameters.append(_query(name, schema, field.is_repeated))
                    continue
                if field.is_repeated or depth >= _MAX_QUERY_DEPTH or full_name in chain:
                    continue
                visit(message_type_of(field), name + ".", depth + 1, (*chain, full_name))
                continue
            schema = builder.scalar(field)
            if field.is_repeated:
                schema = {"type": "array", "items": schema}
            parameters.append(_query(name, schema, field.is_repeated))

    visit(descriptor, "", 0, (descriptor.full_name,))
    return parameters


def _query(name: str, schema: Schema, repeated: bool) -> Schema:
    parameter: Schema = {"name": name, "in": "query", "schema": schema}
    if repeated:
        parameter["style"] = "form"
        parameter["explode"] = True
    return parameter


def _operation(
    builder: _SchemaBuilder,
    method: MethodDescriptor,
    binding: HttpBinding,
    operation_id: str,
    public: bool,
) -> tuple[str, Schema]:
    path, path_params = openapi_path(binding.template)
    parameters = [_path_parameter(builder, method, n, f) for n, f in path_params]
    bound = {".".join(v.field_path) for v in binding.template.variables}
    operation: Schema = {
        "operationId": operation_id,
        "summary": method.full_name,
        "tags": [method.containing_service.name],
    }
    if binding.body == "*":
        schema = builder.message(method.input_type)
        operation["requestBody"] = _json_content(schema, required=False)
    elif binding.body:
        field = method.input_type.fields_by_name[binding.body]
        bound.add(field.name)
        parameters.extend(_query_parameters(builder, method.input_type, bound))
        operation["requestBody"] = _json_content(builder.field(field), required=False)
    else:
        parameters.extend(_query_parameters(builder, method.input_type, bound))
    if parameters:
        operation["parameters"] = parameters
    if binding.response_body:
        response_schema = builder.field(method.output_type.fields_by_name[binding.response_body])
    else:
        response_schema = builder.message(method.output_type)
    builder.add_status()
    ok: Schema = {
        "description": "OK",
        "headers": {"X-Request-Id": {"schema": {"type": "string"}}},
    }
    if binding.http_method != "HEAD":
        ok["content"] = {"application/json": {"schema": response_schema}}
    operation["responses"] = {
        "200": ok,
        "default": {
            "description": "An error, as a google.rpc.Status.",
            "headers": {"X-Request-Id": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ref(_STATUS)}},
        },
    }
    operation["security"] = [] if public else [{_SECURITY_SCHEME: []}]
    return path, operation


def _json_content(schema: Schema, *, required: bool) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def openapi_document(
    services: Iterable[ServiceDescriptor],
    *,
    title: str = "MCP Coordinator",
    version: str = __version__,
    public_methods: Sequence[str] = ("Health",),
) -> Schema:
    """The OpenAPI 3.1 document of every google.api.http binding of `services`.

    `public_methods` (short or full method names) carry no security
    requirement; every other operation requires the `X-API-Key` header.
    """
    builder = _SchemaBuilder()
    paths: dict[str, Schema] = {}
    for service in services:
        for method in service.methods:
            public = method.name in public_methods or method.full_name in public_methods
            for number, binding in enumerate(http_bindings(method)):
                operation_id = f"{service.name}_{method.name}" + (f"_{number}" if number else "")
                path, operation = _operation(builder, method, binding, operation_id, public)
                paths.setdefault(path, {}).setdefault(binding.http_method.lower(), operation)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(builder.schemas.items())),
            "securitySchemes": {
                _SECURITY_SCHEME: {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            },
        },
    }


def main() -> None:
    from mcpcoordinator.v1 import coordinator_pb2  # the coordinator's own contract

    service = coordinator_pb2.DESCRIPTOR.services_by_name["CoordinatorService"]
    document = openapi_document([service])
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
