"""The merging rules of the catalogue (pure functions) and the routing inputs."""

from __future__ import annotations

import pytest

from coordinator.errors import CoordinatorError
from coordinator.mcpdoor.catalogue import merge_keyed, merge_named, same_prompt, same_tool
from coordinator.mcpdoor.inputs import (
    RoutingInputs,
    call_inputs,
    connection_inputs,
    environment_inputs,
)

SCHEMA_A = {"type": "object", "properties": {"query": {"type": "string"}}}
SCHEMA_B = {"type": "object", "properties": {"sql": {"type": "string"}}}


def test_a_tool_offered_alike_by_several_targets_is_listed_once_with_every_owner() -> None:
    merged = merge_named(
        {
            "odoo_prod": [{"name": "query", "inputSchema": SCHEMA_A}],
            "odoo_lab": [{"name": "query", "inputSchema": SCHEMA_A}],
        },
        same=same_tool,
    )
    assert list(merged) == ["query"]
    assert merged["query"].owners == ("odoo_prod", "odoo_lab")
    assert merged["query"].pinned is None


def test_a_name_meaning_different_tools_is_prefixed_per_target() -> None:
    merged = merge_named(
        {
            "odoo_prod": [{"name": "query", "inputSchema": SCHEMA_A}],
            "warehouse": [{"name": "query", "inputSchema": SCHEMA_B}, {"name": "stock"}],
        },
        same=same_tool,
    )
    assert set(merged) == {"odoo_prod__query", "warehouse__query", "stock"}
    assert merged["warehouse__query"].upstream == "query"
    assert merged["warehouse__query"].pinned == "warehouse"
    assert merged["warehouse__query"].definition["name"] == "warehouse__query"
    assert merged["warehouse__query"].definition["inputSchema"] == SCHEMA_B
    assert merged["stock"].owners == ("warehouse",)


def test_a_reserved_name_is_always_prefixed() -> None:
    merged = merge_named(
        {"odoo_prod": [{"name": "aggregate"}]}, same=same_tool, reserved={"aggregate"}
    )
    assert list(merged) == ["odoo_prod__aggregate"]


def test_prompts_merge_by_arguments_and_resources_by_uri() -> None:
    prompts = merge_named(
        {
            "a": [{"name": "summary", "arguments": [{"name": "who"}]}],
            "b": [{"name": "summary", "arguments": [{"name": "when"}]}],
        },
        same=same_prompt,
    )
    assert set(prompts) == {"a__summary", "b__summary"}
    resources = merge_keyed(
        {"a": [{"uri": "x://1", "name": "one"}], "b": [{"uri": "x://1"}, {"uri": "x://2"}]}, "uri"
    )
    assert resources["x://1"].owners == ("a", "b")
    assert resources["x://1"].definition["name"] == "one"
    assert resources["x://2"].owners == ("b",)


def test_routing_inputs_from_headers_query_environment_and_meta() -> None:
    assert connection_inputs({"x-coordinator-context": "finance-ssc, oca"}, {}) == RoutingInputs(
        {"finance-ssc": True, "oca": True}
    )
    assert connection_inputs({}, {"context": "migration", "target": "odoo_lab"}) == RoutingInputs(
        {"migration": True}, "odoo_lab"
    )
    env = environment_inputs({"COORDINATOR_CONTEXT": "migration", "COORDINATOR_TARGET": "odoo_lab"})
    assert env == RoutingInputs({"migration": True}, "odoo_lab")
    merged = call_inputs(env, {"_meta": {"mcp-coordinator/context": {"finance-ssc": True}}})
    assert merged == RoutingInputs({"migration": True, "finance-ssc": True}, "odoo_lab")


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({"mcp-coordinator/context": "finance-ssc"}, "_meta.mcp-coordinator/context"),
        ({"mcp-coordinator/target": 3}, "_meta.mcp-coordinator/target"),
    ],
)
def test_a_malformed_meta_input_names_the_key(meta: dict[str, object], field: str) -> None:
    with pytest.raises(CoordinatorError) as error:
        call_inputs(RoutingInputs(), {"_meta": meta})
    assert field in error.value.message
