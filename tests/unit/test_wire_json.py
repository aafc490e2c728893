"""JSON to and from HTTP targets: orjson's speed without losing what only the stdlib reads
or writes (an integer past 64 bits, NaN), and None for a body that is not JSON."""

from __future__ import annotations

import math

from coordinator.targets.http_transport import dumps, loads


def test_a_big_integer_and_non_ascii_text_survive_the_round_trip() -> None:
    message = {"id": 2**70, "params": {"name": "créer", "n": -(2**65), "x": 1.5}}
    assert loads(dumps(message)) == message
    assert dumps({"a": "é"}) == '{"a":"é"}'.encode()


def test_what_orjson_rejects_is_read_by_the_stdlib_and_garbage_is_none() -> None:
    assert math.isnan(loads(b'{"v": NaN}')["v"])
    assert loads(b"18446744073709551616") == 2**64
    assert loads(b"<html>bad gateway</html>") is None
    assert loads(b"\xff\xfe") is None
