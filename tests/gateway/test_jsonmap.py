"""The compiled codecs agree with protobuf's own json_format where protojson
and json_format agree (every field populated), and differ only where the
gateway chose grpc-gateway's EmitUnpopulated (unset messages as null)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from transcodingtest.v1 import transcoding_pb2 as pb

from coordinator.gateway.jsonmap import CodecRegistry, dump_json, parse_json

EVERYTHING = pb.DESCRIPTOR.message_types_by_name["Everything"]
POPULATED: dict[str, Any] = {
    "string_value": "s\u00e9",
    "int32_value": -1,
    "int64_value": "-9223372036854775808",
    "uint32_value": 4294967295,
    "uint64_value": "18446744073709551615",
    "sint32_value": -3,
    "fixed64_value": "7",
    "float_value": 0.1,
    "double_value": 1e300,
    "bool_value": True,
    "bytes_value": "3q2+7w==",
    "enum_value": "GENRE_FICTION",
    "nested": {"name": "n", "amount": 2},
    "nested_list": [{"name": "a", "amount": 0}],
    "string_list": ["x"],
    "string_map": {"k": "v"},
    "nested_map": {"5": {"name": "five", "amount": 5}},
    "struct_value": {"a": [1.0, None, {"b": False}]},
    "any_json": "text",
    "list_json": [1.0, "two"],
    "wrapped_string": "w",
    "wrapped_int64": "64",
    "timestamp_value": "2024-01-02T03:04:05.600Z",
    "duration_value": "1.500s",
    "optional_int32": 3,
    "choice_number": 9,
}


def _reference(message: pb.Everything) -> Any:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def test_decode_then_encode_matches_json_format_on_a_populated_message() -> None:
    codec = CodecRegistry().codec(EVERYTHING)
    ours = pb.Everything()
    codec.decode_into(POPULATED, ours)
    reference = json_format.ParseDict(POPULATED, pb.Everything())

    assert ours == reference
    assert codec.encode(ours) == _reference(reference)


def test_unset_messages_are_null_and_unset_oneof_members_are_absent() -> None:
    codec = CodecRegistry().codec(EVERYTHING)

    encoded = codec.encode(pb.Everything())
    reference = _reference(pb.Everything())

    nulls = {k for k, v in encoded.items() if v is None}
    assert nulls == {
        "nested",
        "struct_value",
        "any_json",
        "list_json",
        "wrapped_string",
        "wrapped_int64",
        "timestamp_value",
        "duration_value",
        "optional_int32",
    }
    assert "choice_text" not in encoded
    assert "choice_number" not in encoded
    assert {k: v for k, v in encoded.items() if v is not None} == reference


def test_json_text_round_trip_is_compact_utf8() -> None:
    assert dump_json({"a": "é", "b": [1, None]}) == '{"a":"é","b":[1,null]}'.encode()
    assert parse_json(b'{"a": [1, 2.5, "x"]}', "body") == {"a": [1, 2.5, "x"]}


def test_integral_numbers_in_a_value_go_out_as_the_integers_they_came_in_as() -> None:
    codec = CodecRegistry().codec(pb.DESCRIPTOR.message_types_by_name["Everything"])
    message = pb.Everything()
    codec.decode_into(
        {"struct_value": {"id": 1, "amount": 120.5, "big": 2**60, "list": [0, -3]}}, message
    )
    text = dump_json(codec.encode(message)["struct_value"]).decode()
    assert '"id":1,' in text or text.endswith('"id":1}')
    assert '"list":[0,-3]' in text
    assert '"amount":120.5' in text
    assert '"big":1.152921504606847e+18' in text  # beyond 2**53 a double is not an exact integer
