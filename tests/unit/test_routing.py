"""Table tests of the pure routing policy (docs/architecture.md, "A request's path")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from coordinator.config import DEFAULT_CONTEXT_RULES, QueryRule
from coordinator.errors import CoordinatorError, ErrorCode
from coordinator.routing import RoutingPolicy, RoutingRequest

TARGETS = ("odoo_prod", "odoo_lab", "odoo_archive")


def shipped_policy(**overrides: Any) -> RoutingPolicy:
    options: dict[str, Any] = {
        "default_target": "odoo_prod",
        "failover_order": ("odoo_prod", "odoo_lab", "odoo_archive"),
        "context_rules": DEFAULT_CONTEXT_RULES,
        "query_rules": (
            QueryRule(
                name="migration-words",
                pattern=r"\bmigrat(e|ion)\b",
                target="odoo_lab",
                reason="Migration questions go to the lab",
                confidence=0.8,
            ),
        ),
    }
    options.update(overrides)
    return RoutingPolicy(TARGETS, **options)


@dataclass(frozen=True)
class Case:
    name: str
    request: RoutingRequest
    candidates: tuple[str, ...]
    rule: str
    confidence: float
    reason_contains: str = ""
    unhealthy: dict[str, str] = field(default_factory=dict)
    tool_owners: frozenset[str] | None = None
    skipped: tuple[str, ...] = ()
    fallback: bool = True


CASES = [
    Case(
        "explicit target is pinned",
        RoutingRequest(target="odoo_lab"),
        ("odoo_lab",),
        "explicit",
        1.0,
        "Explicit",
        fallback=False,
    ),
    Case(
        "explicit target with allow_failover",
        RoutingRequest(target="odoo_lab", allow_failover=True),
        ("odoo_lab", "odoo_prod", "odoo_archive"),
        "explicit",
        1.0,
    ),
    Case(
        "explicit beats context",
        RoutingRequest(target="odoo_lab", context={"finance-ssc": True}),
        ("odoo_lab",),
        "explicit",
        1.0,
        fallback=False,
    ),
    Case(
        "finance-ssc goes to production with no fallback",
        RoutingRequest(context={"finance-ssc": True}),
        ("odoo_prod",),
        "context:finance-ssc",
        0.95,
        "Finance SSC context requires production data",
        fallback=False,
    ),
    Case(
        "finance-ssc as the string 'true'",
        RoutingRequest(context={"finance-ssc": "true"}),
        ("odoo_prod",),
        "context:finance-ssc",
        0.95,
        fallback=False,
    ),
    Case(
        "finance-ssc false does not match",
        RoutingRequest(context={"finance-ssc": False}),
        ("odoo_prod", "odoo_lab", "odoo_archive"),
        "default",
        0.5,
    ),
    Case(
        "finance-ssc 'no' does not match",
        RoutingRequest(context={"finance-ssc": "no"}),
        ("odoo_prod", "odoo_lab", "odoo_archive"),
        "default",
        0.5,
    ),
    Case(
        "migration goes to the lab, falls back",
        RoutingRequest(context={"migration": True}),
        ("odoo_lab", "odoo_prod", "odoo_archive"),
        "context:migration",
        0.9,
        "testing",
    ),
    Case(
        "oca goes to the lab",
        RoutingRequest(context={"oca": 1}),
        ("odoo_lab", "odoo_prod", "odoo_archive"),
        "context:oca",
        0.9,
    ),
    Case(
        "development goes to the lab",
        RoutingRequest(context={"development": "yes"}),
        ("odoo_lab", "odoo_prod", "odoo_archive"),
        "context:development",
        0.9,
    ),
    Case(
        "first context rule wins (finance-ssc listed before migration)",
        RoutingRequest(context={"migration": True, "finance-ssc": True}),
        ("odoo_prod",),
        "context:finance-ssc",
        0.95,
        fallback=False,
    ),
    Case(
        "unknown context keys are ignored",
        RoutingRequest(context={"colour": "blue"}),
        ("odoo_prod", "odoo_lab", "odoo_archive"),
        "default",
        0.5,
        "Default target odoo_prod",
    ),
    Case(
        "query rule matches the text",
        RoutingRequest(query="How do I migrate module X?"),
        ("odoo_lab", "odoo_prod", "odoo_archive"),
        "query:migration-words",
        0.8,
    ),
    Case(
        "context rule beats query rule",
        RoutingRequest(query="migrate", context={"finance-ssc": True}),
        ("odoo_prod",),
        "context:finance-ssc",
        0.95,
        fallback=False,
    ),
    Case(
        "no rule: default then failover order",
        RoutingRequest(query="List all skills"),
        ("odoo_prod", "odoo_lab", "odoo_archive"),
        "default",
        0.5,
    ),
    Case(
        "capability: only the archive has the tool",
        RoutingRequest(tool="export_archive"),
        ("odoo_archive",),
        "capability",
        0.9,
        "export_archive",
        tool_owners=frozenset({"odoo_archive"}),
    ),
    Case(
        "capability: default has the tool, chain limited to owners",
        RoutingRequest(tool="list_skills"),
        ("odoo_prod", "odoo_lab"),
        "default",
        0.5,
        tool_owners=frozenset({"odoo_prod", "odoo_lab"}),
    ),
    Case(
        "capability: nobody has the tool, default chain kept",
        RoutingRequest(tool="nope"),
        ("odoo_prod", "odoo_lab", "odoo_archive"),
        "default",
        0.5,
        tool_owners=frozenset(),
    ),
    Case(
        "unhealthy default is skipped and reported",
        RoutingRequest(query="hello"),
        ("odoo_lab", "odoo_archive"),
        "default",
        0.5,
        unhealthy={"odoo_prod": "circuit open"},
        skipped=("odoo_prod",),
    ),
    Case(
        "finance-ssc with production unhealthy leaves no candidate",
        RoutingRequest(context={"finance-ssc": True}),
        (),
        "context:finance-ssc",
        0.95,
        unhealthy={"odoo_prod": "circuit open"},
        skipped=("odoo_prod",),
        fallback=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_policy_table(case: Case) -> None:
    decision = shipped_policy().decide(
        case.request, unhealthy=case.unhealthy, tool_owners=case.tool_owners
    )
    assert decision.candidates == case.candidates
    assert decision.rule == case.rule
    assert decision.confidence == case.confidence
    assert case.reason_contains in decision.reason
    assert tuple(t for t, _ in decision.skipped) == case.skipped
    assert decision.fallback == case.fallback


def test_unknown_explicit_target_names_the_field_and_the_known_targets() -> None:
    with pytest.raises(CoordinatorError) as raised:
        shipped_policy().decide(RoutingRequest(target="odoo_staging"))
    assert raised.value.code is ErrorCode.INVALID_ARGUMENT
    assert raised.value.field == "target"
    assert "odoo_staging" in raised.value.message
    assert "odoo_prod" in raised.value.message


def test_rules_for_absent_targets_are_inert() -> None:
    policy = RoutingPolicy(("alpha", "beta"), context_rules=DEFAULT_CONTEXT_RULES)
    decision = policy.decide(RoutingRequest(context={"finance-ssc": True}))
    assert decision.rule == "default"
    assert decision.candidates == ("alpha", "beta")


def test_failover_order_puts_listed_targets_first() -> None:
    policy = RoutingPolicy(("a", "b", "c"), failover_order=("c", "a"))
    assert policy.decide(RoutingRequest()).candidates == ("c", "a", "b")


def test_a_no_fallback_rule_narrows_allow_failover_to_its_targets_group() -> None:
    policy = shipped_policy()
    decision = policy.decide(
        RoutingRequest(target="odoo_prod", allow_failover=True, context={"finance-ssc": True})
    )
    assert decision.chain == ("odoo_prod",)
    assert not decision.fallback
    assert "Finance SSC context requires production data" in decision.reason
    assert "context:finance-ssc allows no fallback" in decision.reason


def test_a_no_fallback_rule_fails_over_to_replicas_of_its_target_only() -> None:
    groups = {"odoo_prod": "production", "odoo_archive": "production", "odoo_lab": "odoo_lab"}
    policy = shipped_policy(groups=groups)
    finance = policy.decide(RoutingRequest(context={"finance-ssc": True}))
    assert finance.chain == ("odoo_prod", "odoo_archive")
    explicit = policy.decide(
        RoutingRequest(target="odoo_lab", allow_failover=True, context={"finance-ssc": True})
    )
    assert explicit.chain == ("odoo_lab", "odoo_prod", "odoo_archive")
    assert policy.group_of("odoo_archive") == "production"
    assert policy.group_of("odoo_lab") == "odoo_lab"


def test_disabled_targets_are_skipped_and_refused_by_name() -> None:
    policy = shipped_policy(disabled=("odoo_lab",))
    decision = policy.decide(RoutingRequest(context={"migration": True}))
    assert decision.chain == ("odoo_lab", "odoo_prod", "odoo_archive")
    assert decision.primary == "odoo_lab"
    assert decision.candidates == ("odoo_prod", "odoo_archive")
    assert decision.skipped == (("odoo_lab", "disabled"),)
    with pytest.raises(CoordinatorError) as raised:
        policy.decide(RoutingRequest(target="odoo_lab"))
    assert raised.value.code is ErrorCode.FAILED_PRECONDITION
    assert raised.value.message == "target odoo_lab is disabled"
