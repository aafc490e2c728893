"""`google.protobuf.Struct` and `Value` to plain JSON values: the one walker that the core's
converter (`coordinator.convert`) and the REST gateway (`coordinator.gateway.jsonmap`) share.

They differ only in a number JSON text cannot hold (NaN, Infinity): the core keeps it as a
float, the gateway refuses it, since it writes RFC 8259 JSON. So the walker is built once per
use with what to do with such a number; a closure keeps the walk as fast as two copies were.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

# A Value carries every JSON number as a double; an integral one below this goes back out as
# the integer it came in as (what protojson prints too), not as 1.0.
MAX_EXACT_INTEGER = 2**53

# A Struct or Value message of any descriptor pool (the gateway's are not struct_pb2's).
StructWalker = Callable[[Any], dict[str, Any]]
ValueWalker = Callable[[Any], Any]


def walkers(non_finite: Callable[[float], Any]) -> tuple[StructWalker, ValueWalker]:
    """The Struct and Value walkers that pass NaN and Infinity to `non_finite`, which returns
    what stands for it or raises."""

    def value_to_json(value: Any) -> Any:
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            return value.string_value
        if kind == "number_value":
            number: float = value.number_value
            if number.is_integer() and abs(number) < MAX_EXACT_INTEGER:
                return int(number)
            return number if math.isfinite(number) else non_finite(number)
        if kind == "bool_value":
            return value.bool_value
        if kind == "struct_value":
            return struct_to_json(value.struct_value)
        if kind == "list_value":
            return [value_to_json(item) for item in value.list_value.values]
        return None

    def struct_to_json(struct: Any) -> dict[str, Any]:
        fields = struct.fields
        # Iterating keys and indexing is native; .items() goes through the ABC.
        return {key: value_to_json(fields[key]) for key in fields}

    return struct_to_json, value_to_json
