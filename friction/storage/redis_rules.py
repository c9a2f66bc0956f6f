"""Rules and lists in Redis (the ``RulesStore`` port), shared by every replica.

Keys (under the store's prefix), kept until an analyst removes them (configuration, not
personal data with a retention: a ``customer`` list names customers only as long as an
analyst keeps them there, and entries may carry their own expiry):

    rules:<tenant>:lists             hash  list name -> list definition (JSON)
    rules:<tenant>:revisions         hash  list name -> revision (new at every change)
    rules:<tenant>:entries:<list>    hash  normalised value -> entry (JSON)
    rules:<tenant>:values:<list>     sorted set (lex) of the values: pages in order
    rules:<tenant>:rules             hash  rule id -> rule (JSON)
    rules:<tenant>:history:<rule>    hash  version -> that version of the rule (JSON)
    rules:<tenant>:version           counter, bumped in the same MULTI as every change

A save that numbers a version reads the last one under WATCH, so two analysts saving at
once get two versions, never one twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from friction.rules.lists import ListEntry, RuleList
from friction.rules.rules import Rule
from friction.rules.store import Definitions, ListState

ENTRIES_PER_CALL = 10_000


class RedisRules:
    """``RulesStore`` on the store's Redis (a connection pool of its own, small)."""

    def __init__(self, redis: Redis, prefix: str = "friction:") -> None:
        self._redis = redis
        self._p = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "friction:") -> RedisRules:
        return cls(Redis.from_url(url, decode_responses=False, max_connections=8), prefix)

    def _key(self, tenant: str, *parts: str) -> str:
        return ":".join([f"{self._p}rules", tenant, *parts])

    async def save_list(self, tenant: str, spec: RuleList) -> RuleList:
        lists = self._key(tenant, "lists")

        async def attempt(pipe: Pipeline) -> RuleList:
            raw = await pipe.hget(lists, spec.name)
            version = 1 if raw is None else RuleList.model_validate_json(raw).version + 1
            stored = spec.model_copy(update={"version": version})
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(lists, spec.name, stored.model_dump_json())
            pipe.hset(self._key(tenant, "revisions"), spec.name, _revision())
            pipe.incr(self._key(tenant, "version"))
            return stored

        stored: RuleList = await self._redis.transaction(attempt, lists, value_from_callable=True)
        return stored

    async def delete_list(self, tenant: str, name: str) -> bool:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.hdel(self._key(tenant, "lists"), name)
            tx.hdel(self._key(tenant, "revisions"), name)
            tx.delete(self._key(tenant, "entries", name), self._key(tenant, "values", name))
            tx.incr(self._key(tenant, "version"))
            gone, *_ = await tx.execute()
        return bool(gone)

    async def add_entries(self, tenant: str, name: str, entries: Sequence[ListEntry]) -> None:
        async with self._redis.pipeline(transaction=True) as tx:
            for start in range(0, len(entries), ENTRIES_PER_CALL):
                chunk = entries[start : start + ENTRIES_PER_CALL]
                tx.hset(
                    self._key(tenant, "entries", name),
                    mapping={e.value: e.model_dump_json() for e in chunk},
                )
                tx.zadd(self._key(tenant, "values", name), {e.value: 0 for e in chunk})
            tx.hset(self._key(tenant, "revisions"), name, _revision())
            tx.incr(self._key(tenant, "version"))
            await tx.execute()

    async def remove_entry(self, tenant: str, name: str, value: str) -> bool:
        entries = self._key(tenant, "entries", name)

        async def attempt(pipe: Pipeline) -> bool:
            if not await pipe.hexists(entries, value):
                return False  # nothing changes: no revision, no rebuild anywhere
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hdel(entries, value)
            pipe.zrem(self._key(tenant, "values", name), value)
            pipe.hset(self._key(tenant, "revisions"), name, _revision())
            pipe.incr(self._key(tenant, "version"))
            return True

        gone: bool = await self._redis.transaction(attempt, entries, value_from_callable=True)
        return gone

    async def list_entries(
        self, tenant: str, name: str, limit: int, after: str | None
    ) -> list[ListEntry]:
        start = f"({after}" if after else "-"
        values = await self._redis.zrangebylex(
            self._key(tenant, "values", name), start, "+", start=0, num=limit
        )
        if not values:
            return []
        raws = await self._redis.hmget(self._key(tenant, "entries", name), values)
        return [ListEntry.model_validate_json(r) for r in raws if r is not None]

    async def entries(self, tenant: str, name: str) -> list[ListEntry]:
        raws = await self._redis.hvals(self._key(tenant, "entries", name))
        # 100,000 entries take ~0.5 s to parse: off the event loop
        return await asyncio.to_thread(lambda: [ListEntry.model_validate_json(r) for r in raws])

    async def save_rule(self, tenant: str, rule: Rule) -> Rule:
        history = self._key(tenant, "history", rule.id)

        async def attempt(pipe: Pipeline) -> Rule:
            versions = await pipe.hkeys(history)
            stored = rule.model_copy(update={"version": max(map(int, versions), default=0) + 1})
            raw = stored.model_dump_json()
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(self._key(tenant, "rules"), rule.id, raw)
            pipe.hset(history, str(stored.version), raw)
            pipe.incr(self._key(tenant, "version"))
            return stored

        stored: Rule = await self._redis.transaction(attempt, history, value_from_callable=True)
        return stored

    async def rule_versions(self, tenant: str, rule_id: str) -> list[Rule]:
        raws = await self._redis.hvals(self._key(tenant, "history", rule_id))
        return sorted((Rule.model_validate_json(r) for r in raws), key=lambda r: r.version)

    async def delete_rule(self, tenant: str, rule_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.hdel(self._key(tenant, "rules"), rule_id)
            tx.incr(self._key(tenant, "version"))
            gone, *_ = await tx.execute()
        return bool(gone)

    async def definitions(self, tenant: str) -> Definitions:
        async with self._redis.pipeline(transaction=True) as tx:  # one snapshot
            tx.get(self._key(tenant, "version"))
            tx.hvals(self._key(tenant, "rules"))
            tx.hgetall(self._key(tenant, "lists"))
            tx.hgetall(self._key(tenant, "revisions"))
            version, rules, specs, revisions = await tx.execute()
        names = sorted(specs)
        async with self._redis.pipeline(transaction=False) as sizes:
            for name in names:
                sizes.hlen(self._key(tenant, "entries", name.decode()))
            counts = await sizes.execute()
        lists = [
            ListState(RuleList.model_validate_json(specs[n]), revisions.get(n, b"").decode(), c)
            for n, c in zip(names, counts, strict=True)
        ]
        ordered = sorted((Rule.model_validate_json(r) for r in rules), key=lambda r: r.id)
        return Definitions(int(version or 0), ordered, lists)

    async def rules_versions(self, tenants: Sequence[str]) -> dict[str, int]:
        found = await self._redis.mget([self._key(t, "version") for t in tenants])
        return {t: int(v or 0) for t, v in zip(tenants, found, strict=True)}

    async def close(self) -> None:
        await self._redis.aclose()


def _revision() -> str:
    return uuid.uuid4().hex
