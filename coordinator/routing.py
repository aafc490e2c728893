"""The routing policy: which targets may answer a request, in which order, and why.

Pure code: values in, values out, no I/O and no clock. The service asks
`RoutingPolicy.decide()` once per request and then walks `Decision.candidates`.

Order of precedence (DESIGN.md section 3):
1. an explicit `target` (confidence 1.0; other targets only with `allow_failover`);
2. context rules, first match wins;
3. query rules (regular expressions on the query text), then the capability
   rule (only targets whose tool list has the requested tool);
4. the default target, then the configured failover order.
Targets the caller of `decide()` reports as unhealthy are skipped, and the
decision lists them with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coordinator.config import ContextRule, QueryRule
from coordinator.errors import invalid_argument

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
    """Where a request goes. `candidates` are tried in order; empty when every
    permitted target is unhealthy (`skipped` then says why)."""

    candidates: tuple[str, ...]
    reason: str
    confidence: float
    rule: str
    # Permitted targets left out because they are unhealthy: (target, why).
    skipped: tuple[tuple[str, str], ...] = ()
    # False when the rule forbids answering from any other target.
    fallback: bool = True


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
    ) -> None:
        self.targets = tuple(targets)
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
        unhealthy = unhealthy or {}
        candidates = tuple(t for t in choice.chain if t not in unhealthy)
        skipped = tuple((t, unhealthy[t]) for t in choice.chain if t in unhealthy)
        return Decision(
            candidates=candidates,
            reason=choice.reason,
            confidence=choice.confidence,
            rule=choice.rule,
            skipped=skipped,
            fallback=choice.fallback,
        )

    def _choose(self, request: RoutingRequest, tool_owners: Collection[str] | None) -> _Choice:
        if request.target:
            if request.target not in self.targets:
                raise invalid_argument(
                    "target",
                    f"unknown target {request.target!r}; known targets: {list(self.targets)}",
                )
            chain: tuple[str, ...] = (request.target,)
            if request.allow_failover:
                chain += self._others(request.target)
            return _Choice(
                chain, f"Explicit target {request.target}", 1.0, "explicit", request.allow_failover
            )

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

    def _rule_choice(
        self, target: str, reason: str, confidence: float, rule: str, fallback: bool
    ) -> _Choice:
        chain = (target, *self._others(target)) if fallback else (target,)
        return _Choice(chain, reason, confidence, rule, fallback)

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
