"""One contract for both ``RulesStore`` adapters: the embedded SQLite file and Redis.

Per tenant, versioned on every change, complete snapshots, ordered pages of entries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from friction.rules.lists import ListEntry, RuleList
from friction.rules.rules import Rule
from friction.rules.store import RulesStore
from friction.storage.redis_rules import RedisRules
from friction.storage.sqlite_rules import SqliteRules

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def rules(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RulesStore]:
    adapter: SqliteRules | RedisRules
    if request.param == "embedded":
        adapter = SqliteRules(tmp_path / "store.db")
    else:
        url = request.getfixturevalue("redis_url")
        adapter = RedisRules.from_url(url, prefix=f"test:{uuid.uuid4().hex[:12]}:")
    yield adapter
    await adapter.close()


def entry(value: str) -> ListEntry:
    return ListEntry(value=value, reason="seen in a fraud ring", added_by="ana", added_at=NOW)


def rule(rule_id: str, version: int = 1) -> Rule:
    return Rule(id=rule_id, version=version, expression="score > 0.5", action="review")


async def test_a_tenants_rules_and_lists_come_back_whole_and_versioned(rules: RulesStore) -> None:
    assert await rules.rules_versions(["acme", "globex"]) == {"acme": 0, "globex": 0}
    await rules.save_list("acme", RuleList(name="risky_bins", kind="bin", action="decline"))
    await rules.add_entries("acme", "risky_bins", [entry("411111"), entry("520000-520099")])
    await rules.save_rule("acme", rule("big"))
    await rules.save_rule("acme", rule("big", version=2))  # replaced, not added
    versions = await rules.rules_versions(["acme", "globex"])
    assert versions["acme"] == 4 and versions["globex"] == 0

    state = await rules.tenant_rules("acme")
    assert state.version == 4
    assert [(r.id, r.version) for r in state.rules] == [("big", 2)]
    [(spec, entries)] = state.lists
    assert (spec.name, spec.action) == ("risky_bins", "decline")
    assert sorted(e.value for e in entries) == ["411111", "520000-520099"]
    other = await rules.tenant_rules("globex")
    assert (other.version, other.rules, other.lists) == (0, [], [])  # another tenant: nothing


async def test_entries_page_in_order_and_removals_count(rules: RulesStore) -> None:
    await rules.save_list("acme", RuleList(name="blocked_devices", kind="device"))
    values = [f"dev_{n:03d}" for n in range(25)]
    await rules.add_entries("acme", "blocked_devices", [entry(v) for v in reversed(values)])
    first = await rules.list_entries("acme", "blocked_devices", 10, None)
    second = await rules.list_entries("acme", "blocked_devices", 10, first[-1].value)
    assert [e.value for e in first + second] == values[:20]
    assert await rules.remove_entry("acme", "blocked_devices", "dev_003")
    assert not await rules.remove_entry("acme", "blocked_devices", "dev_003")
    assert not await rules.remove_entry("globex", "blocked_devices", "dev_004")
    left = await rules.list_entries("acme", "blocked_devices", 100, None)
    assert len(left) == 24 and "dev_003" not in {e.value for e in left}

    assert await rules.delete_rule("acme", "nothing") is False
    await rules.save_rule("acme", rule("r1"))
    assert await rules.delete_rule("acme", "r1")
    assert await rules.delete_list("acme", "blocked_devices")
    assert await rules.list_entries("acme", "blocked_devices", 10, None) == []
    state = await rules.tenant_rules("acme")
    assert state.rules == [] and state.lists == []
