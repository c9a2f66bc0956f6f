"""One contract for both ``RulesStore`` adapters: the embedded SQLite file and Redis.

Per tenant, versioned on every change, complete snapshots, ordered pages of entries.
"""

from __future__ import annotations

import asyncio
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


def rule(rule_id: str) -> Rule:
    return Rule(id=rule_id, expression="score > 0.5", action="review")


async def test_a_tenants_rules_and_lists_come_back_whole_and_versioned(rules: RulesStore) -> None:
    assert await rules.rules_versions(["acme", "globex"]) == {"acme": 0, "globex": 0}
    saved = await rules.save_list("acme", RuleList(name="risky_bins", kind="bin", action="decline"))
    assert saved.version == 1
    await rules.add_entries("acme", "risky_bins", [entry("411111"), entry("520000-520099")])
    first = await rules.save_rule("acme", rule("big"))
    second = await rules.save_rule("acme", rule("big"))  # replaced, not added
    assert (first.version, second.version) == (1, 2)  # the store numbers versions
    versions = await rules.rules_versions(["acme", "globex"])
    assert versions["acme"] == 4 and versions["globex"] == 0

    state = await rules.definitions("acme")
    assert state.version == 4
    assert [(r.id, r.version) for r in state.rules] == [("big", 2)]
    [listed] = state.lists
    assert (listed.spec.name, listed.spec.action, listed.size) == ("risky_bins", "decline", 2)
    assert sorted(e.value for e in await rules.entries("acme", "risky_bins")) == [
        "411111",
        "520000-520099",
    ]
    other = await rules.definitions("globex")
    assert (other.version, other.rules, other.lists) == (0, [], [])  # another tenant: nothing
    assert await rules.entries("globex", "risky_bins") == []


async def test_a_lists_revision_moves_only_when_the_list_changes(rules: RulesStore) -> None:
    await rules.save_list("acme", RuleList(name="bins", kind="bin"))
    await rules.save_list("acme", RuleList(name="devices", kind="device"))

    async def revisions() -> dict[str, str]:
        return {s.spec.name: s.revision for s in (await rules.definitions("acme")).lists}

    before = await revisions()
    await rules.add_entries("acme", "bins", [entry("411111")])
    after_add = await revisions()
    assert after_add["bins"] != before["bins"] and after_add["devices"] == before["devices"]
    await rules.save_rule("acme", rule("r1"))  # a rule edit re-indexes no list
    assert await revisions() == after_add
    version = (await rules.rules_versions(["acme"]))["acme"]
    assert not await rules.remove_entry("acme", "bins", "999999")  # nothing there: no change
    assert await revisions() == after_add
    assert (await rules.rules_versions(["acme"]))["acme"] == version
    assert await rules.remove_entry("acme", "bins", "411111")
    assert (await revisions())["bins"] != after_add["bins"]
    relabelled = await rules.save_list("acme", RuleList(name="bins", kind="bin", action="decline"))
    assert relabelled.version == 2


async def test_every_version_of_a_rule_is_kept_after_it_is_deleted(rules: RulesStore) -> None:
    await rules.save_rule("acme", rule("r1"))
    changed = Rule(id="r1", expression="score > 0.9", action="decline")
    await rules.save_rule("acme", changed)
    assert await rules.delete_rule("acme", "r1")
    history = await rules.rule_versions("acme", "r1")
    assert [(r.version, r.expression) for r in history] == [(1, "score > 0.5"), (2, "score > 0.9")]
    assert await rules.rule_versions("globex", "r1") == []
    again = await rules.save_rule("acme", rule("r1"))  # re-created: numbering continues
    assert again.version == 3


async def test_concurrent_saves_of_one_rule_get_distinct_versions(rules: RulesStore) -> None:
    saved = await asyncio.gather(*(rules.save_rule("acme", rule("hot")) for _ in range(8)))
    assert sorted(r.version for r in saved) == list(range(1, 9))
    [current] = (await rules.definitions("acme")).rules
    assert current.version == 8


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
    state = await rules.definitions("acme")
    assert state.rules == [] and state.lists == []
