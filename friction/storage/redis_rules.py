"""Rules and lists in Redis (the ``RulesStore`` port), shared by every replica.

Keys (under the store's prefix), kept until an analyst removes them (configuration, not
personal data with a retention: a ``customer`` list names customers only as long as an
analyst keeps them there, and entries may carry their own expiry):

    rules:<tenant>:lists           hash  list name -> list definition (JSON)
    rules:<tenant>:entries:<list>  hash  normalised value -> entry (JSON)
    rules:<tenant>:values:<list>   sorted set (lex) of the values: pages in order
    rules:<tenant>:rules           hash  rule id -> rule (JSON)
    rules:<tenant>:version         counter, bumped in the same MULTI as every change
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from friction.rules.lists import ListEntry, RuleList
from friction.rules.rules import Rule
from friction.rules.store import TenantRules

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

    async def save_list(self, tenant: str, spec: RuleList) -> None:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.hset(self._key(tenant, "lists"), spec.name, spec.model_dump_json())
            tx.incr(self._key(tenant, "version"))
            await tx.execute()

    async def delete_list(self, tenant: str, name: str) -> bool:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.hdel(self._key(tenant, "lists"), name)
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
            tx.incr(self._key(tenant, "version"))
            await tx.execute()

    async def remove_entry(self, tenant: str, name: str, value: str) -> bool:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.hdel(self._key(tenant, "entries", name), value)
            tx.zrem(self._key(tenant, "values", name), value)
            tx.incr(self._key(tenant, "version"))
            gone, *_ = await tx.execute()
        return bool(gone)

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

    async def save_rule(self, tenant: str, rule: Rule) -> None:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.hset(self._key(tenant, "rules"), rule.id, rule.model_dump_json())
            tx.incr(self._key(tenant, "version"))
            await tx.execute()

    async def delete_rule(self, tenant: str, rule_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as tx:
            tx.hdel(self._key(tenant, "rules"), rule_id)
            tx.incr(self._key(tenant, "version"))
            gone, *_ = await tx.execute()
        return bool(gone)

    async def tenant_rules(self, tenant: str) -> TenantRules:
        async with self._redis.pipeline(transaction=True) as tx:  # one snapshot
            tx.get(self._key(tenant, "version"))
            tx.hvals(self._key(tenant, "rules"))
            tx.hvals(self._key(tenant, "lists"))
            version, rules, specs = await tx.execute()
        lists = []
        for raw in specs:
            spec = RuleList.model_validate_json(raw)
            entries = await self._redis.hvals(self._key(tenant, "entries", spec.name))
            lists.append((spec, [ListEntry.model_validate_json(e) for e in entries]))
        lists.sort(key=lambda pair: pair[0].name)
        rules_ = [Rule.model_validate_json(r) for r in rules]
        return TenantRules(int(version or 0), rules_, lists)

    async def rules_versions(self, tenants: Sequence[str]) -> dict[str, int]:
        found = await self._redis.mget([self._key(t, "version") for t in tenants])
        return {t: int(v or 0) for t, v in zip(tenants, found, strict=True)}

    async def close(self) -> None:
        await self._redis.aclose()
