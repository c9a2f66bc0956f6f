"""Where a tenant's rules and lists are kept: the port every store adapter implements.

Every change bumps the tenant's version in the same write, so each replica can tell, with
one read per refresh for all tenants, whose rule set to rebuild (``service.rule_sets``).
The hot path never reads the store for rules: it evaluates the rule set built last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from friction.rules.lists import ListEntry, RuleList
from friction.rules.rules import Rule


@dataclass(frozen=True, slots=True)
class TenantRules:
    """All of one tenant's rules and lists, with every entry: what a rule set is built from."""

    version: int = 0
    rules: list[Rule] = field(default_factory=list)
    lists: list[tuple[RuleList, list[ListEntry]]] = field(default_factory=list)


class RulesStore(Protocol):
    async def save_list(self, tenant: str, spec: RuleList) -> None:
        """Create or replace a list's definition (its entries stay)."""
        ...

    async def delete_list(self, tenant: str, name: str) -> bool:
        """Remove a list and its entries; False if there was none."""
        ...

    async def add_entries(self, tenant: str, name: str, entries: Sequence[ListEntry]) -> None:
        """Add (or replace, by value) entries of an existing list, all or none."""
        ...

    async def remove_entry(self, tenant: str, name: str, value: str) -> bool:
        """Remove one entry by its normalised value; False if it was not there."""
        ...

    async def list_entries(
        self, tenant: str, name: str, limit: int, after: str | None
    ) -> list[ListEntry]:
        """A page of a list's entries in value order, after the value ``after``."""
        ...

    async def save_rule(self, tenant: str, rule: Rule) -> None:
        """Create or replace a rule."""
        ...

    async def delete_rule(self, tenant: str, rule_id: str) -> bool:
        """Remove a rule; False if there was none."""
        ...

    async def tenant_rules(self, tenant: str) -> TenantRules:
        """Everything a tenant's rule set is built from, at one version."""
        ...

    async def rules_versions(self, tenants: Sequence[str]) -> dict[str, int]:
        """Each tenant's current version (0: never changed): one read for all."""
        ...
