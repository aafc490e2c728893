"""The routing policy: which targets may answer a request, in which order, and why.

Pure code: values in, values out, no I/O and no clock. The service asks
`RoutingPolicy.decide()` once per request and then walks `Decision.chain`.

Order of precedence (README, "Routing"; docs/architecture.md):
1. an explicit `target` (confidence 1.0; other targets only with `allow_failover`);
2. context rules, first match wins;
3. query rules (regular expressions on the query text), then the capability
   rule (only targets whose tool list has the requested tool);
4. the default target, then the configured failover order.

A rule with `fallback: false` keeps the answer inside its target's group (the
target and its replicas), even when the request also names an explicit target
with `allow_failover`. Disabled targets are skipped wherever a chain holds them;
naming one explicitly is FAILED_PRECONDITION. Targets the caller of `decide()`
reports as unhealthy are skipped too, and the decision lists them with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coordinator.config import ContextRule, QueryRule
from coordinator.errors import CoordinatorError, ErrorCode, invalid_argument

_FALSY_STRINGS = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    """The parts of a request that routing looks at."""

    target: str | None = None
    allow_failover: bool = False
    context: Mapping[str, Any] | None = None
    query: str | None = None
    tool: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a request goes.

    `chain` is every permitted target in order of preference, the unhealthy ones
    included (a fresh cached answer of theirs may still serve); `candidates` are
    the healthy ones, empty when every permitted target is unhealthy (`skipped`
    then says why).
    """

    chain: tuple[str, ...]
    reason: str
    confidence: float
    rule: str
    # Permitted targets left out because they are unhealthy: (target, why).
    skipped: tuple[tuple[str, str], ...] = ()
    # False when the rule forbids answering from outside its target's group.
    fallback: bool = True

    @property
    def candidates(self) -> tuple[str, ...]:
        unhealthy = {name for name, _ in self.skipped}
        return tuple(name for name in self.chain if name not in unhealthy)

    @property
    def primary(self) -> str | None:
        """The target the policy prefers; any other answering target is a failover."""
        return self.chain[0] if self.chain else None


@dataclass(frozen=True, slots=True)
class _Choice:
    chain: tuple[str, ...]
    reason: str
    confidence: float
    rule: str
    fallback: bool


class RoutingPolicy:
    """Routing rules over a fixed set of target names, validated at construction."""

    def __init__(
        self,
        targets: Sequence[str],
        *,
        default_target: str | None = None,
        failover_order: Sequence[str] = (),
        context_rules: Sequence[ContextRule] = (),
        query_rules: Sequence[QueryRule] = (),
        groups: Mapping[str, str] | None = None,
        disabled: Collection[str] = (),
    ) -> None:
        self.targets = tuple(targets)
        # Targets in one group hold the same data; by default each is its own group.
        self._groups = {t: (groups or {}).get(t, t) for t in self.targets}
        self._disabled = frozenset(disabled)
        known = set(self.targets)
        # Rules that name a target this deployment does not have are inert: the
        # shipped defaults mention odoo_prod/odoo_lab and must not break other setups.
        self._context_rules = tuple(r for r in context_rules if r.target in known)
        self._query_rules = tuple(
            (r, re.compile(r.pattern, re.IGNORECASE)) for r in query_rules if r.target in known
        )
        order = [t for t in failover_order if t in known]
        order += [t for t in self.targets if t not in order]
        self._failover_order = tuple(order)
        self._default_target = default_target if default_target in known else None

    def decide(
        self,
        request: RoutingRequest,
        *,
        unhealthy: Mapping[str, str] | None = None,
        tool_owners: Collection[str] | None = None,
    ) -> Decision:
        """Chooses the candidates for `request`.

        `unhealthy` maps target names to why they are skipped (e.g. "circuit open").
        `tool_owners` names the targets known to have `request.tool`, or None when
        no tool list is known yet (the capability rule then does not apply).
        Raises INVALID_ARGUMENT for an explicit target that does not exist.
        """
        choice = self._choose(request, tool_owners)
        unhealthy = {**dict.fromkeys(self._disabled, "disabled"), **(unhealthy or {})}
        skipped = tuple((t, unhealthy[t]) for t in choice.chain if t in unhealthy)
        return Decision(
            chain=choice.chain,
            reason=choice.reason,
            confidence=choice.confidence,
            rule=choice.rule,
            skipped=skipped,
            fallback=choice.fallback,
        )

    def group_of(self, target: str) -> str:
        """The group of targets holding the same data as `target`."""
        return self._groups.get(target, target)

    def _choose(self, request: RoutingRequest, tool_owners: Collection[str] | None) -> _Choice:
        if request.target:
            return self._explicit_choice(request)
        rule_choice = self._matching_rule(request)
        if rule_choice is not None:
            return rule_choice

        default_chain = self._default_chain()
        if request.tool and tool_owners is not None:
            owners = tuple(t for t in default_chain if t in tool_owners)
            if owners and owners[0] != default_chain[0]:
                names = ", ".join(owners)
                return _Choice(
                    owners, f"Only {names} provide tool {request.tool!r}", 0.9, "capability", True
                )
            if owners:
                # Failing over to a target without the tool could only fail.
                default_chain = owners

        if self._default_target is not None:
            reason = f"Default target {self._default_target}"
        else:
            reason = "No rule matched; first target in failover order"
        return _Choice(default_chain, reason, 0.5, "default", True)

    def _explicit_choice(self, request: RoutingRequest) -> _Choice:
        target = request.target or ""
        if target not in self.targets:
            raise invalid_argument(
                "target", f"unknown target {target!r}; known targets: {list(self.targets)}"
            )
        if target in self._disabled:
            raise CoordinatorError(
                ErrorCode.FAILED_PRECONDITION, f"target {target} is disabled", field="target"
            )
        reason = f"Explicit target {target}"
        if not request.allow_failover:
            return _Choice((target,), reason, 1.0, "explicit", False)
        rule = self._matching_rule(request)
        if rule is not None and not rule.fallback:
            # allow_failover cannot widen what a no-fallback rule allows.
            group = self._groups[rule.chain[0]]
            chain = (target, *(t for t in rule.chain if t != target))
            reason += (
                f"; failover only within group {group}: {rule.reason}"
                f" ({rule.rule} allows no fallback)"
            )
            return _Choice(chain, reason, 1.0, "explicit", False)
        return _Choice((target, *self._others(target)), reason, 1.0, "explicit", True)

    def _matching_rule(self, request: RoutingRequest) -> _Choice | None:
        """The first context rule, then query rule, that matches `request`."""
        context = request.context or {}
        for rule in self._context_rules:
            if _truthy(context.get(rule.key)):
                return self._rule_choice(
                    rule.target, rule.reason, rule.confidence, f"context:{rule.key}", rule.fallback
                )
        if request.query:
            for query_rule, pattern in self._query_rules:
                if pattern.search(request.query):
                    return self._rule_choice(
                        query_rule.target,
                        query_rule.reason,
                        query_rule.confidence,
                        f"query:{query_rule.name}",
                        query_rule.fallback,
                    )
        return None

    def _rule_choice(
        self, target: str, reason: str, confidence: float, rule: str, fallback: bool
    ) -> _Choice:
        others = self._others(target)
        if not fallback:  # only replicas of the target hold the data the rule requires
            others = tuple(t for t in others if self._groups[t] == self._groups[target])
        return _Choice((target, *others), reason, confidence, rule, fallback)

    def _default_chain(self) -> tuple[str, ...]:
        if self._default_target is None:
            return self._failover_order
        return (self._default_target, *self._others(self._default_target))

    def _others(self, first: str) -> tuple[str, ...]:
        return tuple(t for t in self._failover_order if t != first)


def _truthy(value: Any) -> bool:
    """JSON truthiness as a person writes context flags: true, 1, "yes" are set;
    false, 0, "", "false", "no", "off" and null are not."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSY_STRINGS
    return bool(value)
