"""Input limits, checked before anything expensive.

`MAX_REQUEST_BYTES` bounds the body (REST and /mcp, 413) and the message (gRPC,
RESOURCE_EXHAUSTED from grpc itself). Inside a request, JSON documents
(`context`, `arguments`, `params`, any Struct/Value/ListValue) may nest at
most `MAX_JSON_DEPTH` levels, strings hold at most `MAX_STRING_LENGTH`
characters and object keys at most `MAX_KEY_LENGTH`. Over a limit:
INVALID_ARGUMENT naming the field and the limit.

Both walkers use an explicit stack, never recursion: a document nested a
thousand levels deep is refused in microseconds and cannot raise
RecursionError. `check_json` walks a parsed JSON body (the REST door runs it
before decoding the body into a message, whose decoder recurses);
`check_message` walks a protobuf message (what the gRPC door hands to the
handlers). The /mcp door runs `check_json` on each request's `params` (tool
`arguments`, `_meta`, resource and prompt parameters) before anything is
routed, and answers JSON-RPC invalid params (-32602) naming the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from coordinator.errors import invalid_argument

_JSON_CONTAINERS = frozenset(
    {"google.protobuf.Struct", "google.protobuf.ListValue"},
)
_STRING = FieldDescriptor.TYPE_STRING
_MESSAGE = FieldDescriptor.TYPE_MESSAGE


@dataclass(frozen=True, slots=True)
class InputLimits:
    max_request_bytes: int = 1 << 20
    max_json_depth: int = 32
    max_string_length: int = 1 << 16
    max_key_length: int = 256


DEFAULT_LIMITS = InputLimits()


def _too_deep(path: str, limits: InputLimits) -> Exception:
    return invalid_argument(
        path, f"JSON nested deeper than MAX_JSON_DEPTH={limits.max_json_depth} levels"
    )


def _too_long(path: str, limits: InputLimits) -> Exception:
    return invalid_argument(
        path, f"string longer than MAX_STRING_LENGTH={limits.max_string_length} characters"
    )


def _key_too_long(path: str, limits: InputLimits) -> Exception:
    return invalid_argument(
        path, f"object key longer than MAX_KEY_LENGTH={limits.max_key_length} characters"
    )


def check_json(body: Any, limits: InputLimits) -> None:
    """Checks a parsed JSON request body. Each top-level member counts as depth 0, so
    `{"context": {"a": {}}}` has `context` two levels deep, as the message form does."""
    if not isinstance(body, dict):
        _check_json_value(body, "body", limits)
        return
    for name, value in body.items():
        if len(name) > limits.max_key_length:
            raise _key_too_long("body", limits)
        _check_json_value(value, name, limits)


def _check_json_value(root: Any, root_path: str, limits: InputLimits) -> None:
    max_depth = limits.max_json_depth
    max_string = limits.max_string_length
    max_key = limits.max_key_length
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > max_string:
                raise _too_long(root_path, limits)
        elif isinstance(value, dict):
            if depth >= max_depth:
                raise _too_deep(root_path, limits)
            for key, item in value.items():
                if len(key) > max_key:
                    raise _key_too_long(root_path, limits)
                if isinstance(item, dict | list | str):
                    stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth >= max_depth:
                raise _too_deep(root_path, limits)
            for item in value:
                if isinstance(item, dict | list | str):
                    stack.append((item, depth + 1))


def check_message(message: Message, limits: InputLimits) -> None:
    """Checks every string, map key and JSON document (Struct/ListValue) of a message."""
    max_depth = limits.max_json_depth
    max_string = limits.max_string_length
    max_key = limits.max_key_length
    # (message, field path of the top-level field it sits in, JSON depth)
    stack: list[tuple[Message, str, int]] = [(message, "", 0)]
    while stack:
        current, path, depth = stack.pop()
        is_container = current.DESCRIPTOR.full_name in _JSON_CONTAINERS
        if is_container:
            depth += 1
            if depth > max_depth:
                raise _too_deep(path, limits)
        for field, value in current.ListFields():
            where = path or field.name
            if field.type == _STRING:
                for text in value if field.is_repeated else (value,):
                    if len(text) > max_string:
                        raise _too_long(where, limits)
            elif field.type == _MESSAGE:
                entry = field.message_type
                assert entry is not None
                if entry.GetOptions().map_entry:
                    for key in value:
                        if isinstance(key, str) and len(key) > max_key:
                            raise _key_too_long(where, limits)
                    if entry.fields_by_name["value"].type == _MESSAGE:
                        stack.extend((value[key], where, depth) for key in value)
                    elif entry.fields_by_name["value"].type == _STRING:
                        for key in value:
                            if len(value[key]) > max_string:
                                raise _too_long(where, limits)
                elif field.is_repeated:
                    stack.extend((item, where, depth) for item in value)
                else:
                    stack.append((value, where, depth))
