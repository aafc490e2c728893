import hashlib
import re

import pytest

from coordinator.cache import cache_key, canonical_json


def test_key_is_namespaced_versioned_and_names_the_target() -> None:
    key = cache_key(namespace="resp", target="odoo_prod", method="tools/list", params=None)
    assert re.fullmatch(r"mcpc:v1:resp:odoo_prod:[0-9a-f]{64}", key)


def test_parameter_order_does_not_change_the_key() -> None:
    first = cache_key(
        namespace="resp",
        target="odoo_prod",
        method="tools/call",
        params={"name": "ask", "arguments": {"query": "skills", "limit": 5}},
    )
    second = cache_key(
        namespace="resp",
        target="odoo_prod",
        method="tools/call",
        params={"arguments": {"limit": 5, "query": "skills"}, "name": "ask"},
    )
    assert first == second


@pytest.mark.parametrize(
    ("target", "method", "params"),
    [
        ("odoo_lab", "tools/call", {"name": "ask", "arguments": {"query": "skills"}}),
        ("odoo_prod", "prompts/get", {"name": "ask", "arguments": {"query": "skills"}}),
        ("odoo_prod", "tools/call", {"name": "ask", "arguments": {"query": "Skills"}}),
        ("odoo_prod", "tools/call", {"name": "ask", "arguments": {}}),
    ],
)
def test_target_method_and_params_each_change_the_key(
    target: str, method: str, params: dict[str, object]
) -> None:
    base = cache_key(
        namespace="resp",
        target="odoo_prod",
        method="tools/call",
        params={"name": "ask", "arguments": {"query": "skills"}},
    )
    assert cache_key(namespace="resp", target=target, method=method, params=params) != base


def test_no_params_and_empty_params_share_a_key() -> None:
    assert cache_key(namespace="resp", target="a", method="tools/list", params=None) == cache_key(
        namespace="resp", target="a", method="tools/list", params={}
    )


def test_decisions_have_their_own_namespace() -> None:
    params = {"query": "List all skills", "context": {"finance-ssc": True}}
    decision = cache_key(namespace="decision", target=None, method="route", params=params)
    response = cache_key(namespace="resp", target=None, method="route", params=params)
    assert decision.startswith("mcpc:v1:decision:_:")
    assert decision != response


@pytest.mark.parametrize(("namespace", "target"), [("", "a"), ("re:sp", "a"), ("resp", "a:b")])
def test_segments_that_could_collide_are_rejected(namespace: str, target: str) -> None:
    with pytest.raises(ValueError, match="contain no ':'"):
        cache_key(namespace=namespace, target=target, method="tools/list", params=None)


def test_params_that_are_not_json_are_rejected() -> None:
    with pytest.raises(TypeError):
        cache_key(namespace="resp", target="a", method="tools/call", params={"when": object()})


def test_nan_is_rejected_not_confused_with_null() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        cache_key(namespace="resp", target="a", method="tools/call", params={"x": float("nan")})
    null = cache_key(namespace="resp", target="a", method="tools/call", params={"x": None})
    assert null.startswith("mcpc:v1:resp:a:")


@pytest.mark.parametrize(
    "params",
    [
        {"name": "ask", "arguments": {"query": "café", "limit": 5, "ratio": 0.25}},
        {"name": "ask", "arguments": {"query": None, "big": 2**70}},
    ],
)
def test_key_hashes_the_canonical_json(params: dict[str, object]) -> None:
    canonical = canonical_json(["tools/call", params]).encode()
    expected = f"mcpc:v1:resp:a:{hashlib.sha256(canonical).hexdigest()}"
    assert cache_key(namespace="resp", target="a", method="tools/call", params=params) == expected
