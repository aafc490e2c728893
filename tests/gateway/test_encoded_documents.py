"""The gateway's memo of encoded Struct/Value documents (`EncodedDocuments`)."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

from coordinator.gateway.jsonmap import EncodedDocuments, value_to_json


def _value(data: dict[str, Any]) -> struct_pb2.Value:
    value = struct_pb2.Value()
    value.struct_value.update(data)
    return value


def _answer(n: int) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": f"record {n} " + "x" * 200}], "isError": False}


class CountingConvert:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value: Any) -> Any:
        self.calls += 1
        return value_to_json(value)


def test_equal_content_is_encoded_once_and_encodes_the_same() -> None:
    convert = CountingConvert()
    documents = EncodedDocuments(convert)
    first = documents(_value(_answer(1)))
    again = documents(_value(_answer(1)))  # a different message object, same content
    assert first == again == _answer(1)
    assert convert.calls == 1


def test_different_content_is_never_served_from_another_entry() -> None:
    documents = EncodedDocuments(value_to_json)
    assert documents(_value(_answer(1))) == _answer(1)
    assert documents(_value(_answer(2))) == _answer(2)
    assert documents(_value({**_answer(1), "isError": True}))["isError"] is True


def test_small_documents_are_converted_every_time() -> None:
    convert = CountingConvert()
    documents = EncodedDocuments(convert)
    for _ in range(3):
        assert documents(_value({"ok": True})) == {"ok": True}
    assert convert.calls == 3


def test_the_byte_budget_evicts_the_least_recently_used() -> None:
    convert = CountingConvert()
    size = len(_value(_answer(1)).SerializeToString())
    documents = EncodedDocuments(convert, budget=2 * size)
    documents(_value(_answer(1)))
    documents(_value(_answer(2)))
    documents(_value(_answer(1)))  # touch 1: 2 is now the oldest
    documents(_value(_answer(3)))  # over budget: 2 goes
    calls = convert.calls
    documents(_value(_answer(1)))
    documents(_value(_answer(3)))
    assert convert.calls == calls
    documents(_value(_answer(2)))
    assert convert.calls == calls + 1
