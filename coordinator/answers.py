"""Which answers the coordinator can deliver: bounded JSON depth and size.

Both doors carry an answer as `google.protobuf.Value`, and protobuf parsers
(ours, and every generated client's by default) stop at 100 levels of message
nesting. A JSON array costs two of them (Value, ListValue) and an object three
(Value, Struct, its map entry), and AggregateResponse wraps each answer in one
more map entry: 32 levels of objects is the most every door can carry, so the
coordinator delivers answers nested at most `MAX_ANSWER_DEPTH` (32) JSON levels
deep, objects and arrays alike, and at most `max_answer_bytes` of JSON text. A
larger answer is refused with the truth: the call ran on the target; it is
neither cached nor repeated on another target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from coordinator.errors import CoordinatorError, ErrorCode

# The depth of the answer as JSON (`{"a": [1]}` is 2 deep). 33 levels of objects already
# break AggregateResponse in a default parser (tests/unit/test_answers.py measures it).
MAX_ANSWER_DEPTH = 32
# ErrorInfo reasons of an answer that ran but cannot be delivered.
UNDELIVERABLE_REASONS = frozenset({"ANSWER_TOO_DEEP", "ANSWER_TOO_LARGE"})


@dataclass(frozen=True, slots=True)
class AnswerSize:
    """How deep (JSON levels) and how long (bytes of compact JSON) an answer is.

    Past the depth limit the walk stops and the length is not measured (0).
    """

    depth: int
    length: int


def measure(data: Any, *, max_depth: int) -> AnswerSize:
    """Depth and length of `data` (plain JSON values), without recursion: a walk over the
    containers a level at a time (about 2.5 µs for a typical answer), then orjson's length."""
    depth = 0
    level = [data] if isinstance(data, dict | list | tuple) else []
    while level:
        depth += 1
        if depth > max_depth:
            return AnswerSize(depth, 0)
        below = []
        for container in level:
            for item in container.values() if type(container) is dict else container:
                kind = type(item)
                if kind is dict or kind is list or kind is tuple:
                    below.append(item)
        level = below
    return AnswerSize(depth, _json_length(data))


def _json_length(data: Any) -> int:
    try:
        return len(orjson.dumps(data))
    except (orjson.JSONEncodeError, TypeError):  # big integers, NaN: the stdlib takes them
        return len(json.dumps(data, separators=(",", ":")).encode())


def check_deliverable(target: str, data: Any, *, max_bytes: int) -> None:
    """Raises OUT_OF_RANGE, saying the call ran on `target`, when its answer is
    nested deeper than `MAX_ANSWER_DEPTH` or longer than `max_bytes`."""
    size = measure(data, max_depth=MAX_ANSWER_DEPTH)
    if size.depth > MAX_ANSWER_DEPTH:
        why = (
            f"it is nested more than {MAX_ANSWER_DEPTH} levels deep"
            f" (the most this coordinator delivers)"
        )
        reason, limit = "ANSWER_TOO_DEEP", str(MAX_ANSWER_DEPTH)
    elif size.length > max_bytes:
        why = f"it is longer than MAX_ANSWER_BYTES ({max_bytes} bytes)"
        reason, limit = "ANSWER_TOO_LARGE", str(max_bytes)
    else:
        return
    raise undeliverable(target, why, reason=reason, limit=limit)


def undeliverable(target: str, why: str, *, reason: str, limit: str) -> CoordinatorError:
    """OUT_OF_RANGE for an answer of `target` that no door can deliver: the call ran."""
    return CoordinatorError(
        ErrorCode.OUT_OF_RANGE,
        f"the call ran on {target}, but its answer cannot be delivered: {why};"
        " it was not cached and not repeated on another target",
        reason=reason,
        metadata={"target": target, "ran": "true", "limit": limit},
    )
