"""Each tenant's compiled rule set, kept current on every replica without touching the hot path.

The scorer asks ``RuleSets.get(tenant)``: a dict look-up, never a store read. A change
made through this replica's API is rebuilt before the API answers (``refresh``), so the
next payment here sees it; other replicas notice within ``rules_refresh_seconds`` by one
read of every tenant's version (``run``). A rebuild re-reads and re-indexes only the lists
whose revision moved (a 100,000-entry list costs ~1 s of CPU to index) and compiles the
rules in a worker thread, then swaps the set in between two decisions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from friction.aio import cancelled
from friction.rules.expressions import Vocabulary
from friction.rules.lists import RuleList
from friction.rules.matching import Matcher
from friction.rules.rules import RuleSet
from friction.rules.store import Definitions, RulesStore

log = logging.getLogger(__name__)


class RuleSets:
    """The rule set of every tenant, rebuilt when its version moves."""

    def __init__(self, store: RulesStore, vocabulary: Vocabulary, tenants: Sequence[str]) -> None:
        self.store = store
        self.vocabulary = vocabulary
        self._tenants = list(tenants)
        self._sets: dict[str, RuleSet] = {}
        self._versions: dict[str, int] = {}
        self._indexed: dict[tuple[str, str], tuple[str, Matcher]] = {}
        """(tenant, list) → (revision, its matcher): kept across rebuilds."""
        self._building: dict[str, asyncio.Lock] = {t: asyncio.Lock() for t in self._tenants}

    def get(self, tenant: str) -> RuleSet | None:
        """The tenant's current rule set; None when it has no rules and no acting lists."""
        return self._sets.get(tenant)

    async def load(self) -> None:
        """Build every tenant's set once, before the service takes payments."""
        for tenant in self._tenants:
            await self.refresh(tenant)

    async def refresh(self, tenant: str) -> None:
        """Rebuild ``tenant``'s set if the store holds a newer version than the one built."""
        async with self._building.setdefault(tenant, asyncio.Lock()):
            definitions = await self.store.definitions(tenant)
            if self._versions.get(tenant) == definitions.version:
                return
            lists = [(state.spec, await self._matcher(tenant, state.spec, state.revision))
                     for state in definitions.lists]  # fmt: skip
            built = await asyncio.to_thread(self._build, definitions, lists)
            if built is None:
                self._sets.pop(tenant, None)
            else:
                self._sets[tenant] = built
                for failure in built.broken:
                    log.warning("rule %s v%d of %s no longer compiles: %s",
                                failure.id, failure.version, tenant, failure.message)  # fmt: skip
            self._versions[tenant] = definitions.version
            names = {state.spec.name for state in definitions.lists}
            for key in [k for k in self._indexed if k[0] == tenant and k[1] not in names]:
                del self._indexed[key]

    async def lists(self, tenant: str) -> list[tuple[RuleList, Matcher]]:
        """The tenant's lists with the indexes its rule set reads (a rule on trial reads the
        same ones; an index already built is shared, not rebuilt)."""
        async with self._building.setdefault(tenant, asyncio.Lock()):
            definitions = await self.store.definitions(tenant)
            return [(state.spec, await self._matcher(tenant, state.spec, state.revision))
                    for state in definitions.lists]  # fmt: skip

    async def run(self, every_s: float) -> None:
        """Follow changes made on other replicas: one read of all versions per period."""
        failing = False
        while True:
            await asyncio.sleep(every_s)
            try:
                versions = await self.store.rules_versions(self._tenants)
                for tenant, version in versions.items():
                    if version != self._versions.get(tenant):
                        await self.refresh(tenant)
            except Exception as error:  # store down, a row that no longer parses: keep the last
                if cancelled():
                    raise
                if not failing:
                    log.warning("rules: refresh failed, serving the last rule sets: %r", error)
                failing = True
                continue
            if failing:
                log.info("rules: changes are read again")
            failing = False

    async def _matcher(self, tenant: str, spec: RuleList, revision: str) -> Matcher:
        """The list's index at this revision: the one built before, or a new one."""
        known = self._indexed.get((tenant, spec.name))
        if known is not None and known[0] == revision and known[1].kind == spec.kind:
            return known[1]
        entries = await self.store.entries(tenant, spec.name)
        matcher = await asyncio.to_thread(Matcher, spec.kind, entries)
        self._indexed[(tenant, spec.name)] = (revision, matcher)
        return matcher

    def _build(
        self, definitions: Definitions, lists: list[tuple[RuleList, Matcher]]
    ) -> RuleSet | None:
        acting_lists = any(spec.action is not None for spec, _ in lists)
        if not definitions.rules and not acting_lists:
            return None
        return RuleSet(self.vocabulary, definitions.rules, lists)
