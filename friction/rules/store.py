"""Where a tenant's rules and lists are kept: the port every store adapter implements.

Every change bumps the tenant's version in the same write, so each replica can tell, with
one read per refresh for all tenants, whose rule set to rebuild (``service.rule_sets``).
A list also gets a new *revision* whenever its definition or entries change, so that a
rebuild re-reads (and re-indexes) only the lists that changed: an edit to one rule must
not reload ten lists of 100,000 entries. The hot path never reads the store for rules.

Versions of a rule and of a list are assigned by the store, one more at every save, and
a rule's every version is kept: a decision event names ``(rule id, version)``, and an
analyst can read what that version said long after it was replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from friction.rules.lists import ListEntry, RuleList
from friction.rules.rules import Rule


@dataclass(frozen=True, slots=True)
class ListState:
    """A list's definition, its revision (new at every change) and how many entries it has."""

    spec: RuleList
    revision: str
    size: int


@dataclass(frozen=True, slots=True)
class Definitions:
    """A tenant's rules and lists (without entries), at one version."""

    version: int = 0
    rules: list[Rule] = field(default_factory=list)
    lists: list[ListState] = field(default_factory=list)

    def list_named(self, name: str) -> ListState | None:
        return next((state for state in self.lists if state.spec.name == name), None)

    def rule_named(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


class RulesStore(Protocol):
    async def save_list(self, tenant: str, spec: RuleList) -> RuleList:
        """Create or replace a list's definition (its entries stay); the stored copy, with
        its version one more than the last (1 when new)."""
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

    async def entries(self, tenant: str, name: str) -> list[ListEntry]:
        """Every entry of a list (to index it)."""
        ...

    async def save_rule(self, tenant: str, rule: Rule) -> Rule:
        """Create or replace a rule; the stored copy, its version one more than the last."""
        ...

    async def rule_versions(self, tenant: str, rule_id: str) -> list[Rule]:
        """Every version a rule had, oldest first (kept after the rule is deleted)."""
        ...

    async def delete_rule(self, tenant: str, rule_id: str) -> bool:
        """Remove a rule; False if there was none."""
        ...

    async def definitions(self, tenant: str) -> Definitions:
        """The tenant's rules and lists as of one version."""
        ...

    async def rules_versions(self, tenants: Sequence[str]) -> dict[str, int]:
        """Each tenant's current version (0: never changed): one read for all."""
        ...

    async def close(self) -> None: ...
